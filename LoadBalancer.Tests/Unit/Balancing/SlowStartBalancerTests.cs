using LoadBalancer.Core.Balancing;
using LoadBalancer.Core.Routing;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.Unit.Balancing;

/// <summary>Every policy gives a ramping backend about ramp * its normal share, and still picks it when it is the only one.</summary>
[TestFixture]
public sealed class SlowStartBalancerTests
{
    private static IEnumerable<TestCaseData> Policies()
    {
        yield return new TestCaseData(new Func<BackendState[], IBalancer>(b => new RoundRobinBalancer(b)), false).SetArgDisplayNames("round-robin");
        yield return new TestCaseData(new Func<BackendState[], IBalancer>(b => new LeastConnectionsBalancer(b)), false).SetArgDisplayNames("least-connections");
        yield return new TestCaseData(new Func<BackendState[], IBalancer>(b => new WeightedHashBalancer(b)), true).SetArgDisplayNames("weighted-hash");
    }

    private static (BackendState[] Backends, ManualClock Clock) RampingPool(double ramp)
    {
        var clock = new ManualClock();
        var backends = TestBackends.WithWeights(1, 1, 1);
        foreach (var b in backends)
        {
            b.Clock = clock;
            b.SlowStart = TimeSpan.FromSeconds(100);
        }

        backends[0].Drain();
        backends[0].Enable();

        // Ramp = 0.1 + 0.9 * t / 100 s.
        clock.Advance(TimeSpan.FromSeconds((ramp - 0.1) / 0.9 * 100));
        Assert.That(backends[0].Ramp, Is.EqualTo(ramp).Within(0.002));
        return (backends, clock);
    }

    [TestCaseSource(nameof(Policies))]
    public void Pick_RampingBackend_GetsRampTimesItsShare(Func<BackendState[], IBalancer> create, bool hashed)
    {
        var (backends, _) = RampingPool(0.4);
        var balancer = create(backends);
        var keys = TestBackends.RandomKeys(30_000, seed: 6);
        var counts = new int[3];
        foreach (var key in keys)
        {
            counts[TestBackends.IndexOf(backends, balancer.Pick(new PickContext { HashKey = hashed ? key : default }))]++;
        }

        // Weight 0.4 against 1 and 1: share 0.4 / 2.4 = 16.7% when its skipped picks go to the others (round-robin,
        // hash); 0.4 / 3 = 13.3% for least-connections at zero load, where a skip only passes one tie.
        Assert.That(counts[0] / (double)keys.Length, Is.InRange((0.4 / 3) - 0.02, (0.4 / 2.4) + 0.02));
    }

    [TestCaseSource(nameof(Policies))]
    public void Pick_OnlyTheRampingBackendLeft_StillPicksIt(Func<BackendState[], IBalancer> create, bool hashed)
    {
        var (backends, _) = RampingPool(0.1);
        backends[1].IsAvailable = false;
        backends[2].IsAvailable = false;
        var balancer = create(backends);
        foreach (var key in TestBackends.RandomKeys(200, seed: 7))
        {
            Assert.That(balancer.Pick(new PickContext { HashKey = hashed ? key : default }), Is.SameAs(backends[0]));
        }
    }

    [Test]
    public void Pick_WeightedHashWhileRamping_KeysThatCameBackStay()
    {
        var (backends, clock) = RampingPool(0.3);
        var balancer = new WeightedHashBalancer(backends);
        var keys = TestBackends.RandomKeys(5_000, seed: 8);
        var early = keys.Where(k => balancer.Pick(new PickContext { HashKey = k }) == backends[0]).ToList();
        clock.Advance(TimeSpan.FromSeconds(30));
        Assert.That(early, Is.Not.Empty);
        Assert.That(early.All(k => balancer.Pick(new PickContext { HashKey = k }) == backends[0]), Is.True, "a growing ramp only adds keys");
    }

    [TestCaseSource(nameof(Policies))]
    public void Pick_WhileRamping_AllocatesNothing(Func<BackendState[], IBalancer> create, bool hashed)
    {
        var (backends, _) = RampingPool(0.5);
        var balancer = create(backends);
        var key = "client-1"u8.ToArray();
        for (var i = 0; i < 100; i++)
        {
            balancer.Pick(new PickContext { HashKey = hashed ? key : default });
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            balancer.Pick(new PickContext { HashKey = hashed ? key : default });
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }
}
