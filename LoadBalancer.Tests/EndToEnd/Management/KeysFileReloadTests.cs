using System.Net.Http.Headers;
using LoadBalancer.Host;
using LoadBalancer.Tests.TestSupport;
using static LoadBalancer.Tests.EndToEnd.Management.AdminTokensTests;

namespace LoadBalancer.Tests.EndToEnd.Management;

/// <summary>An <c>access_keys_file</c> changed alone (lb.toml untouched) applies: by POST /reload, and by the file watcher.</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class KeysFileReloadTests
{
    private const string OldKey = "old-key-0123456789abcdef";
    private const string NewKey = "new-key-0123456789abcdef";

    private static string Config(string backend) => "[admin]\nlisten = \"127.0.0.1:0\"\n" + TestConfigs.OneTenant(backend, tenantExtra: "access_keys_file = \"acme.keys\"");

    private static async Task<int> StatusWithKeyAsync(LbTestHost lb, string key, CancellationToken cancellationToken)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://{lb.EndPoint()}/");
        request.Headers.Host = "acme.example.com";
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await client.SendAsync(request, cancellationToken);
        return (int)response.StatusCode;
    }

    private static async Task<LbTestHost> StartAsync(string backend, bool watch)
    {
        // The keys file sits next to lb.toml, which LbTestHost creates: write it there before the first load.
        return await LbTestHost.StartAsync(Config(backend), watch: watch, debounce: TimeSpan.FromMilliseconds(50), beforeLoad: dir => File.WriteAllText(Path.Combine(dir, "acme.keys"), $"old {Sha(OldKey)}\n"));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task KeysFileChangedAlone_PostReload_AppliesIt(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await StartAsync(backend.Address, watch: false);
        using var admin = Client(lb, null);
        Assert.That(await StatusWithKeyAsync(lb, NewKey, cancellationToken), Is.EqualTo(403));

        await File.WriteAllTextAsync(Path.Combine(Path.GetDirectoryName(lb.ConfigPath)!, "acme.keys"), $"old {Sha(OldKey)}\nnew {Sha(NewKey)}\n", cancellationToken);
        using var reload = await admin.PostAsync("reload", null, cancellationToken);

        Assert.That((int)reload.StatusCode, Is.EqualTo(200), await reload.Content.ReadAsStringAsync(cancellationToken));
        Assert.That(lb.Reloader.AppliedCount, Is.EqualTo(1), "applied, not unchanged");
        Assert.That(await StatusWithKeyAsync(lb, NewKey, cancellationToken), Is.EqualTo(200));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task KeysFileChangedAlone_FileWatcher_ReloadsIt(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await StartAsync(backend.Address, watch: true);
        var applied = new TaskCompletionSource<ReloadResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        lb.Reloader.Reloaded += result =>
        {
            if (result.Outcome == ReloadOutcome.Applied)
            {
                applied.TrySetResult(result);
            }
        };

        var keys = Path.Combine(Path.GetDirectoryName(lb.ConfigPath)!, "acme.keys");
        await File.WriteAllTextAsync(keys + ".tmp", $"new {Sha(NewKey)}\n", cancellationToken);
        File.Move(keys + ".tmp", keys, overwrite: true);
        await applied.Task.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken);

        Assert.That(await StatusWithKeyAsync(lb, NewKey, cancellationToken), Is.EqualTo(200));
        Assert.That(await StatusWithKeyAsync(lb, OldKey, cancellationToken), Is.EqualTo(403));
    }
}
