using LoadBalancer.Core.Balancing;
using LoadBalancer.Core.Routing;
using NUnit.Framework;

namespace LoadBalancer.Tests.Unit.Balancing;

[TestFixture]
public class LeastConnectionsBalancerTests
{
    [TestCase(new[] { 1, 2, 4 }, new[] { 3, 5, 9 }, 2)] // 3, 2.5, 2.25 in flight per weight
    [TestCase(new[] { 3, 7 }, new[] { 1, 2 }, 1)] // 0.333 vs 0.286: needs exact cross-multiplication
    [TestCase(new[] { 1, 1, 1 }, new[] { 4, 0, 2 }, 1)]
    [TestCase(new[] { 1000, 1 }, new[] { 999, 0 }, 1)]
    public void Pick_PresetActiveCounts_ReturnsLowestActivePerWeight(int[] weights, int[] active, int expected)
    {
        var backends = TestBackends.WithWeights(weights);
        for (var i = 0; i < backends.Length; i++)
        {
            SetActive(backends[i], active[i]);
        }

        var balancer = new LeastConnectionsBalancer(backends);

        // Every rotation of the scan start must agree when there is no tie.
        for (var i = 0; i < backends.Length; i++)
        {
            Assert.That(balancer.Pick(default), Is.SameAs(backends[expected]));
        }
    }

    [Test]
    public void Pick_EqualLoad_RotatesThroughTiedBackends()
    {
        var backends = TestBackends.WithWeights(1, 1, 1, 1);
        var balancer = new LeastConnectionsBalancer(backends);
        var counts = new int[backends.Length];

        for (var i = 0; i < 400; i++)
        {
            counts[TestBackends.IndexOf(backends, balancer.Pick(default))]++;
        }

        Assert.That(counts, Is.All.EqualTo(100));
    }

    [TestCase(new[] { 1, 1, 1, 1 })]
    [TestCase(new[] { 1, 2, 3, 4 })]
    [TestCase(new[] { 5, 1, 1 })]
    public void Pick_SimulatedRequests_SharesFollowWeights(int[] weights)
    {
        // Keep 100 requests in flight; each step one random in-flight request completes and a new one is picked.
        // A backend completes requests in proportion to its in-flight count, which the policy keeps proportional
        // to weight, so new picks must follow the weights too.
        const int InFlight = 100;
        const int Requests = 100_000;
        var backends = TestBackends.WithWeights(weights);
        var balancer = new LeastConnectionsBalancer(backends);
        var random = new Random(20240601);
        var inFlight = new List<(BackendState Backend, int Token)>(InFlight + 1);
        var counts = new int[backends.Length];

        for (var i = 0; i < Requests; i++)
        {
            var picked = balancer.Pick(default)!;
            inFlight.Add((picked, picked.EnterInFlight()));
            counts[TestBackends.IndexOf(backends, picked)]++;
            if (inFlight.Count > InFlight)
            {
                var done = random.Next(inFlight.Count);
                inFlight[done].Backend.ExitInFlight(inFlight[done].Token);
                inFlight[done] = inFlight[^1];
                inFlight.RemoveAt(inFlight.Count - 1);
            }
        }

        TestBackends.AssertSharesFollowWeights(backends, counts, 0.02);
    }

    [Test]
    public void Pick_LeastLoadedUnavailable_SkipsIt()
    {
        var backends = TestBackends.WithWeights(1, 1, 1);
        SetActive(backends[0], 5);
        SetActive(backends[2], 3);
        backends[1].IsAvailable = false;
        var balancer = new LeastConnectionsBalancer(backends);

        Assert.That(balancer.Pick(default), Is.SameAs(backends[2]));
    }

    [Test]
    public void Pick_AllUnavailable_ReturnsNull()
    {
        var backends = TestBackends.WithWeights(1, 2, 3);
        foreach (var b in backends)
        {
            b.IsAvailable = false;
        }

        Assert.That(new LeastConnectionsBalancer(backends).Pick(default), Is.Null);
    }

    [Test]
    public void Pick_NoBackends_ReturnsNull()
    {
        Assert.That(new LeastConnectionsBalancer([]).Pick(default), Is.Null);
    }

    [Test]
    public void Pick_AvoidIsLeastLoaded_ReturnsNextLeastLoaded()
    {
        var backends = TestBackends.WithWeights(1, 1, 1);
        SetActive(backends[1], 2);
        SetActive(backends[2], 1);
        var balancer = new LeastConnectionsBalancer(backends);

        Assert.That(balancer.Pick(new PickContext { Avoid = backends[0], Attempt = 1 }), Is.SameAs(backends[2]));
    }

    [Test]
    public void Pick_AvoidIsTheOnlyAvailable_ReturnsItOnlyOnFirstAttempt()
    {
        var backends = TestBackends.WithWeights(1, 1);
        backends[0].IsAvailable = false;
        var balancer = new LeastConnectionsBalancer(backends);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(balancer.Pick(new PickContext { Avoid = backends[1], Attempt = 0 }), Is.SameAs(backends[1]));
            Assert.That(balancer.Pick(new PickContext { Avoid = backends[1], Attempt = 2 }), Is.Null);
        }
    }

    private static void SetActive(BackendState backend, int count)
    {
        for (var i = 0; i < count; i++)
        {
            backend.EnterInFlight();
        }
    }
}
