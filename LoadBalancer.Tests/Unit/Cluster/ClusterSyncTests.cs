using LoadBalancer.Core.Cluster;
using LoadBalancer.Core.Config;
using LoadBalancer.Core.Routing;
using LoadBalancer.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace LoadBalancer.Tests.Unit.Cluster;

/// <summary>
/// Several simulated instances (each its own snapshot and <see cref="ClusterSync"/>) over one in-memory store on a
/// manual clock: the fleet-wide admitted count against the documented bound, fallback and recovery, the instance count.
/// </summary>
[TestFixture]
public sealed class ClusterSyncTests
{
    private const string Address = "127.0.0.1:6379";

    private sealed record Instance(SnapshotHolder Holder, ClusterSync Sync)
    {
        public RuntimeSnapshot Snapshot => Holder.Current;

        public ClusterRateLimiter Limiter => Snapshot.Tenants["t"].ClusterLimiter!;

        public Task<bool> RoundAsync() => Sync.SyncOnceAsync(Snapshot, Address, CancellationToken.None);
    }

    private static string Toml(string id, long rate, long burst, string interval = "100ms") => $$"""
        [cluster]
        redis = "{{Address}}"
        instance_id = "{{id}}"
        sync_interval = "{{interval}}"

        [[listeners]]
        name = "web"
        listen = "127.0.0.1:0"

        [[tenants]]
        name = "t"
        match = ["t.test"]
        pool = "p"
        rate_limit = { requests_per_second = {{rate}}, burst = {{burst}} }

        [[pools]]
        name = "p"
        backends = [{ address = "127.0.0.1:9001" }]
        """;

    private static Instance[] Fleet(MemoryLeaseStore store, int count, long rate, long burst, string interval = "100ms")
    {
        var fleet = new Instance[count];
        for (var i = 0; i < count; i++)
        {
            var loaded = ConfigLoader.LoadText(Toml($"lb-{i}", rate, burst, interval), "lb.toml");
            Assert.That(loaded.Success, Is.True, () => string.Join("\n", loaded.Errors));
            var holder = new SnapshotHolder(loaded.Snapshot!);
            fleet[i] = new Instance(holder, new ClusterSync(holder, NullLogger.Instance, _ => store, store.Clock));
        }

        return fleet;
    }

    /// <summary>
    /// T seconds of 1 ms steps: instance i gets <c>attempts[i]</c> requests per step, and runs its round every 100 ms
    /// (the instances a third of a round apart). Returns what the fleet admitted.
    /// </summary>
    private static async Task<long> RunAsync(ManualClock clock, Instance[] fleet, int[] attempts, int seconds)
    {
        long admitted = 0;
        for (var ms = 0; ms < seconds * 1000; ms++)
        {
            for (var i = 0; i < fleet.Length; i++)
            {
                if ((ms + (i * 100 / fleet.Length)) % 100 == 0)
                {
                    Assert.That(await fleet[i].RoundAsync(), Is.True);
                }

                for (var a = 0; a < attempts[i]; a++)
                {
                    if (fleet[i].Limiter.TryAcquire())
                    {
                        admitted++;
                    }
                }
            }

            clock.Advance(TimeSpan.FromMilliseconds(1));
        }

        return admitted;
    }

    [TestCase(new[] { 1, 1, 1 }, TestName = "Fleet_EvenOverload_AdmitsBurstPlusRateTimesT_WithinBound")]
    [TestCase(new[] { 3, 1, 0 }, TestName = "Fleet_UnevenOverload_AdmitsBurstPlusRateTimesT_WithinBound")]
    [TestCase(new[] { 1, 1, 1, 1, 1, 1, 1, 1 }, TestName = "Fleet_EightInstances_AdmitsBurstPlusRateTimesT_WithinBound")]
    public async Task Fleet_Overload_AdmitsWithinDocumentedBound(int[] attempts)
    {
        // 1000 attempts per second per unit of attempts[i], against a limit of 100 per second for the whole fleet.
        const long rate = 100;
        const long burst = 100;
        const int seconds = 10;
        var clock = new ManualClock();
        var store = new MemoryLeaseStore(clock);
        var fleet = Fleet(store, attempts.Length, rate, burst);
        foreach (var instance in fleet.Concat(fleet))
        {
            await instance.RoundAsync();
        }

        var admitted = await RunAsync(clock, fleet, attempts, seconds);

        // README "Running a fleet": within (N + 1) * C of burst + R * T, C = ceil(2 * R * sync_interval).
        var cap = fleet[0].Limiter.LeaseCap;
        var bound = (fleet.Length + 1) * cap;
        var ideal = burst + (rate * seconds);
        TestContext.Out.WriteLine($"admitted {admitted} of ideal {ideal}, bound +-{bound} (C = {cap})");
        Assert.That(admitted, Is.InRange(ideal - bound, ideal + bound));
        Assert.That(fleet.All(i => i.Snapshot.Cluster!.State.Instances == attempts.Length), Is.True);
    }

    [Test]
    public async Task Fleet_ShorterSyncInterval_TightensTheBound()
    {
        var clock = new ManualClock();
        var fleet = Fleet(new MemoryLeaseStore(clock), 3, 1000, 1000, "20ms");

        Assert.That(fleet[0].Limiter.LeaseCap, Is.EqualTo(40), "ceil(2 * 1000 * 0.02), where 100ms gives 200");
        await fleet[0].RoundAsync();
        Assert.That(fleet[0].Snapshot.Cluster!.InstanceTtl, Is.EqualTo(TimeSpan.FromSeconds(3)));
        Assert.That(fleet[0].Snapshot.Cluster!.RoundTimeout, Is.EqualTo(TimeSpan.FromMilliseconds(100)));
    }

    [Test]
    public async Task Round_StoreDown_EveryLimiterFallsBackToItsShare_ThenRecovers()
    {
        var clock = new ManualClock();
        var store = new MemoryLeaseStore(clock);
        var fleet = Fleet(store, 3, 90, 90);
        foreach (var instance in fleet.Concat(fleet))
        {
            await instance.RoundAsync();
        }

        var state = fleet[0].Snapshot.Cluster!.State;
        Assert.That((state.RedisUp, state.Instances, fleet[0].Limiter.InFallback), Is.EqualTo((true, 3, false)));

        store.Down = true;
        Assert.That(await fleet[0].RoundAsync(), Is.False);

        Assert.That((state.RedisUp, state.Failures, fleet[0].Limiter.InFallback), Is.EqualTo((false, 1L, true)));
        var admitted = 0;
        for (var i = 0; i < 100; i++)
        {
            admitted += fleet[0].Limiter.TryAcquire() ? 1 : 0;
        }

        Assert.That(admitted, Is.InRange(30, 31), "the burst of ceil(90 / 3): the last known count divides the limit");

        store.Down = false;
        Assert.That(await fleet[0].RoundAsync(), Is.True);
        Assert.That((state.RedisUp, fleet[0].Limiter.InFallback), Is.EqualTo((true, false)));
    }

    [Test]
    public async Task Round_StoreDownFromTheStart_LimiterKeepsTheWholeLimit_CountedAsOneInstance()
    {
        var clock = new ManualClock();
        var store = new MemoryLeaseStore(clock) { Down = true };
        var instance = Fleet(store, 1, 40, 40)[0];

        Assert.That(await instance.RoundAsync(), Is.False);

        var state = instance.Snapshot.Cluster!.State;
        Assert.That((state.RedisUp, state.Instances, instance.Limiter.InFallback), Is.EqualTo((false, 1, true)));
        var admitted = 0;
        for (var i = 0; i < 100; i++)
        {
            admitted += instance.Limiter.TryAcquire() ? 1 : 0;
        }

        Assert.That(admitted, Is.InRange(40, 41), "no count known yet: the whole burst");
    }

    [Test]
    public async Task Round_InstanceStopsSyncing_DropsOutOfTheCountAfterItsTtl()
    {
        var clock = new ManualClock();
        var fleet = Fleet(new MemoryLeaseStore(clock), 3, 100, 100);
        foreach (var instance in fleet)
        {
            await instance.RoundAsync();
        }

        await fleet[0].RoundAsync();
        Assert.That(fleet[0].Snapshot.Cluster!.State.Instances, Is.EqualTo(3));

        clock.Advance(TimeSpan.FromSeconds(2));
        await fleet[1].RoundAsync();
        clock.Advance(TimeSpan.FromSeconds(2));
        await fleet[0].RoundAsync();

        Assert.That(fleet[0].Snapshot.Cluster!.State.Instances, Is.EqualTo(2), "lb-2 last synced 4 s ago, past the 3 s TTL");
    }
}
