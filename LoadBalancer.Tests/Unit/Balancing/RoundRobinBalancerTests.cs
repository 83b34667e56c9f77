using LoadBalancer.Core.Balancing;
using LoadBalancer.Core.Routing;
using NUnit.Framework;

namespace LoadBalancer.Tests.Unit.Balancing;

[TestFixture]
public class RoundRobinBalancerTests
{
    [Test]
    public void Pick_Weights511_ReturnsNginxSmoothSequence()
    {
        var backends = TestBackends.WithWeights(5, 1, 1);
        var balancer = new RoundRobinBalancer(backends);

        var picks = new char[14];
        for (var i = 0; i < picks.Length; i++)
        {
            picks[i] = (char)('a' + TestBackends.IndexOf(backends, balancer.Pick(default)));
        }

        Assert.That(new string(picks), Is.EqualTo("aabacaa" + "aabacaa"));
    }

    [Test]
    public void Create_WeightsWithCommonDivisor_ReducesSequence()
    {
        var balancer = new RoundRobinBalancer(TestBackends.WithWeights(10, 20, 30));

        Assert.That(balancer.Sequence.ToArray(), Is.EqualTo(new[] { 2, 1, 0, 2, 1, 2 }));
    }

    [TestCase(new[] { 5, 1, 1 })]
    [TestCase(new[] { 1, 2, 3, 4 })]
    [TestCase(new[] { 7, 13, 100, 1, 1 })]
    public void Pick_100kPicks_SharesFollowWeights(int[] weights)
    {
        var backends = TestBackends.WithWeights(weights);
        var balancer = new RoundRobinBalancer(backends);
        var counts = new int[backends.Length];

        for (var i = 0; i < 100_000; i++)
        {
            counts[TestBackends.IndexOf(backends, balancer.Pick(default))]++;
        }

        // Round-robin is exact up to one partial cycle, so hold it to a far tighter bound than 2 points.
        TestBackends.AssertSharesFollowWeights(backends, counts, 0.001);
    }

    [Test]
    public void Pick_OneBackendUnavailable_SkipsItAndKeepsOtherWeights()
    {
        var backends = TestBackends.WithWeights(5, 1, 1);
        backends[1].IsAvailable = false;
        var balancer = new RoundRobinBalancer(backends);
        var counts = new int[backends.Length];

        for (var i = 0; i < 60_000; i++)
        {
            counts[TestBackends.IndexOf(backends, balancer.Pick(default))]++;
        }

        Assert.That(counts[1], Is.Zero);
        TestBackends.AssertSharesFollowWeights(backends, counts, 0.001);
    }

    [Test]
    public void Pick_HeavyBackendUnavailable_FallsBackToTheRest()
    {
        // The down backend owns almost every slot, so picks go through the degraded walk.
        var backends = TestBackends.WithWeights(1000, 1, 1);
        backends[0].IsAvailable = false;
        var balancer = new RoundRobinBalancer(backends);
        var counts = new int[backends.Length];

        for (var i = 0; i < 1_000; i++)
        {
            counts[TestBackends.IndexOf(backends, balancer.Pick(default))]++;
        }

        Assert.That(counts[0], Is.Zero);
        Assert.That(counts[1] + counts[2], Is.EqualTo(1_000));
    }

    [Test]
    public void Pick_AllUnavailable_ReturnsNull()
    {
        var backends = TestBackends.WithWeights(3, 2, 1);
        foreach (var b in backends)
        {
            b.IsAvailable = false;
        }

        var balancer = new RoundRobinBalancer(backends);

        Assert.That(balancer.Pick(default), Is.Null);
    }

    [Test]
    public void Pick_NoBackends_ReturnsNull()
    {
        Assert.That(new RoundRobinBalancer([]).Pick(default), Is.Null);
    }

    [Test]
    public void Pick_Avoid_NeverReturnsAvoided()
    {
        var backends = TestBackends.WithWeights(5, 1, 1);
        var balancer = new RoundRobinBalancer(backends);

        for (var i = 0; i < 100; i++)
        {
            var picked = balancer.Pick(new PickContext { Avoid = backends[0], Attempt = 1 });
            Assert.That(picked, Is.Not.Null.And.Not.SameAs(backends[0]));
        }
    }

    [Test]
    public void Pick_AvoidIsTheOnlyAvailable_ReturnsItOnlyOnFirstAttempt()
    {
        var backends = TestBackends.WithWeights(1, 1);
        backends[1].IsAvailable = false;
        var balancer = new RoundRobinBalancer(backends);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(balancer.Pick(new PickContext { Avoid = backends[0], Attempt = 0 }), Is.SameAs(backends[0]));
            Assert.That(balancer.Pick(new PickContext { Avoid = backends[0], Attempt = 1 }), Is.Null);
        }
    }

    [Test]
    public void Create_HugeWeightSum_CapsSequenceAndKeepsEveryBackend()
    {
        var weights = new int[200];
        for (var i = 0; i < weights.Length; i++)
        {
            weights[i] = 1000 - i;
        }

        var balancer = new RoundRobinBalancer(TestBackends.WithWeights(weights));
        var seen = new int[weights.Length];
        foreach (var index in balancer.Sequence)
        {
            seen[index]++;
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(balancer.Sequence.Length, Is.LessThanOrEqualTo(RoundRobinBalancer.MaxSequenceLength + weights.Length));
            Assert.That(seen, Has.All.GreaterThanOrEqualTo(1));
            Assert.That(seen[0], Is.GreaterThan(seen[^1]));
        }
    }

    [TestCase(int.MaxValue - 10u)]
    [TestCase(uint.MaxValue - 10u)]
    public void Pick_CounterWrapsAround_KeepsPicking(uint firstTicket)
    {
        var backends = TestBackends.WithWeights(5, 1, 1);
        var balancer = new RoundRobinBalancer(backends, firstTicket);

        for (var i = 0; i < 30; i++)
        {
            Assert.That(balancer.Pick(default), Is.Not.Null);
        }
    }
}
