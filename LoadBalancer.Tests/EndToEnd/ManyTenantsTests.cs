using System.Runtime.CompilerServices;
using System.Text;
using LoadBalancer.Core.Routing;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>
/// Issue 20's shape through the real host: 10,000 tenants, each with its own pool of two backends and a rate limit.
/// Routing and reload correctness only; the timing and memory targets are measured by the bench
/// (<c>load --reload --tenants 10000</c>).
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class ManyTenantsTests
{
    private const int Tenants = 10_000;

    /// <summary>Tenant i's pool is backends i % 4 and (i + 1) % 4 of four, so each tenant has a pair of its own to find.</summary>
    private static string Config(IReadOnlyList<ScriptedBackend> backends, int lastRate)
    {
        var toml = new StringBuilder("""
            [admin]
            listen = "127.0.0.1:0"

            [[listeners]]
            name = "web"
            listen = "127.0.0.1:0"

            """);
        for (var i = 0; i < Tenants; i++)
        {
            var rate = i == Tenants - 1 ? lastRate : 1000 + i % 100;
            toml.Append(System.Globalization.CultureInfo.InvariantCulture, $"""

                [[tenants]]
                name = "t{i}"
                match = ["t{i}.test"]
                pool = "p{i}"
                rate_limit = {"{"} requests_per_second = {rate}, burst = {rate} {"}"}

                [[pools]]
                name = "p{i}"
                backends = [{"{"} address = "{backends[i % 4].Address}" {"}"}, {"{"} address = "{backends[(i + 1) % 4].Address}" {"}"}]

                """);
        }

        return toml.ToString();
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task TenThousandTenants_EachRoutesToItsOwnPool_ReloadChangesOneLimit_OldSnapshotIsCollected(CancellationToken cancellationToken)
    {
        var backends = new List<ScriptedBackend>();
        for (var i = 0; i < 4; i++)
        {
            backends.Add(ScriptedBackend.Start($"s{i}"));
        }

        try
        {
            await using var lb = await LbTestHost.StartAsync(Config(backends, lastRate: 5000));
            await using var client = await HttpProbe.ConnectAsync(lb.EndPoint(), cancellationToken) ?? throw new InvalidOperationException("no connection to lb");
            int[] sample = [0, 1, 2, 3, 4, 1234, 4999, 5000, 7777, Tenants - 2, Tenants - 1];
            foreach (var i in sample)
            {
                await AssertRoutesToOwnPairAsync(client, i, cancellationToken);
            }

            var old = Track(lb.Engine.Snapshots);

            // One limit changes: the reload names it, the limit applies on the same keep-alive connection.
            await lb.WriteConfigAsync(Config(backends, lastRate: 1));
            using var admin = new HttpClient { BaseAddress = new Uri($"http://{lb.AdminEndPoint}/") };
            using var reloaded = await admin.PostAsync("reload", null, cancellationToken);
            var summary = await reloaded.Content.ReadAsStringAsync(cancellationToken);
            Assert.That((int)reloaded.StatusCode, Is.EqualTo(200), summary);
            Assert.That(summary, Is.EqualTo($"tenant t{Tenants - 1}: rate_limit {{ requests_per_second = 5000, burst = 5000 }} -> {{ requests_per_second = 1, burst = 1 }}\n"));

            var statuses = new List<int>();
            for (var k = 0; k < 3; k++)
            {
                statuses.Add((await client.GetAsync($"t{Tenants - 1}.test", "/", cancellationToken)).Status);
            }

            Assert.That(statuses, Does.Contain(429), "the changed limit (1 per second, burst 1) refuses the second quick request");
            foreach (var i in sample[..^1])
            {
                await AssertRoutesToOwnPairAsync(client, i, cancellationToken);
            }

            // The connection that was open across the reload still serves; the replaced snapshot is garbage, and lb's own
            // background collection after a big reload frees it: nobody here forces a collection for this part.
            Assert.That(await ReleasedByLbAsync(old, TimeSpan.FromSeconds(20), cancellationToken), Is.True, "lb did not collect the replaced snapshot by itself within 20 s");
            Assert.That(IsCollected(old), Is.True, "the replaced snapshot is still reachable after the reload");
        }
        finally
        {
            foreach (var backend in backends)
            {
                await backend.DisposeAsync();
            }
        }
    }

    private static async Task AssertRoutesToOwnPairAsync(HttpProbe client, int tenant, CancellationToken cancellationToken)
    {
        var seen = new HashSet<string>();
        for (var k = 0; k < 2; k++)
        {
            var result = await client.GetAsync($"t{tenant}.test", "/", cancellationToken);
            Assert.That(result.Status, Is.EqualTo(200), $"tenant t{tenant}: {result}");
            seen.Add(result.Backend!);
        }

        Assert.That(seen, Is.EquivalentTo(new[] { $"s{tenant % 4}", $"s{(tenant + 1) % 4}" }), $"tenant t{tenant} goes round-robin over its own pool");
    }

    // Not inlined, so no local of the test method keeps the snapshot.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference Track(SnapshotHolder holder) => new(holder.Current);

    /// <summary>Waits, without collecting, until the snapshot is gone (lb asks for a background collection after a big reload).</summary>
    private static async Task<bool> ReleasedByLbAsync(WeakReference reference, TimeSpan bound, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + bound;
        while (reference.IsAlive && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50, cancellationToken);
        }

        return !reference.IsAlive;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool IsCollected(WeakReference reference)
    {
        for (var i = 0; i < 3 && reference.IsAlive; i++)
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true);
            GC.WaitForPendingFinalizers();
        }

        return !reference.IsAlive;
    }
}
