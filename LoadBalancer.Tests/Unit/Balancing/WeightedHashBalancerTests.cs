using LoadBalancer.Core.Balancing;
using LoadBalancer.Core.Routing;
using NUnit.Framework;

namespace LoadBalancer.Tests.Unit.Balancing;

[TestFixture]
public class WeightedHashBalancerTests
{
    private const int KeyCount = 100_000;
    private static readonly byte[][] Keys = TestBackends.RandomKeys(KeyCount, seed: 4242);

    [Test]
    public void Pick_SameKey_ReturnsSameBackend()
    {
        var backends = TestBackends.WithWeights(1, 2, 3, 4);
        var balancer = new WeightedHashBalancer(backends);

        for (var i = 0; i < 1_000; i++)
        {
            var first = balancer.Pick(new PickContext { HashKey = Keys[i] });
            var second = balancer.Pick(new PickContext { HashKey = Keys[i] });
            Assert.That(second, Is.SameAs(first));
        }
    }

    [Test]
    public void Pick_BackendListInAnotherOrder_MapsKeysTheSame()
    {
        var backends = TestBackends.WithWeights(1, 2, 3, 4, 5);
        var forward = new WeightedHashBalancer(backends);
        var reversed = new WeightedHashBalancer(backends.Reverse().ToArray());

        for (var i = 0; i < 10_000; i++)
        {
            Assert.That(reversed.Pick(new PickContext { HashKey = Keys[i] }), Is.SameAs(forward.Pick(new PickContext { HashKey = Keys[i] })));
        }
    }

    [TestCase(new[] { 1, 2, 3, 4 })]
    [TestCase(new[] { 5, 1, 1 })]
    [TestCase(new[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 })]
    [TestCase(new[] { 100, 250, 1000 })]
    public void Pick_100kRandomKeys_SharesFollowWeights(int[] weights)
    {
        var backends = TestBackends.WithWeights(weights);
        var counts = CountPicks(backends, new WeightedHashBalancer(backends));

        TestBackends.AssertSharesFollowWeights(backends, counts, 0.02);
    }

    [Test]
    public void Pick_EmptyKey_RotatesFollowingWeights()
    {
        var backends = TestBackends.WithWeights(1, 2, 3, 4);
        var balancer = new WeightedHashBalancer(backends);
        var counts = new int[backends.Length];

        // One full turn of the ring visits every point once, so the shares are exact.
        for (var i = 0; i < balancer.RingSize; i++)
        {
            counts[TestBackends.IndexOf(backends, balancer.Pick(default))]++;
        }

        Assert.That(counts, Is.EqualTo(new[] { 1, 2, 3, 4 }.Select(w => w * WeightedHashBalancer.DefaultPointsPerWeight).ToArray()));
    }

    [TestCase(5)]
    [TestCase(10)]
    public void Pick_OneOfNBackendsRemoved_MovesOnlyItsKeys(int n)
    {
        var backends = TestBackends.WithWeights(Enumerable.Repeat(1, n).ToArray());
        var removed = backends[n / 2];
        var before = MapKeys(new WeightedHashBalancer(backends));
        var after = MapKeys(new WeightedHashBalancer(backends.Where(b => b != removed).ToArray()));

        AssertOnlyKeysOfMove(before, after, removed, n, isAdd: false);
    }

    [TestCase(5)]
    [TestCase(10)]
    public void Pick_OneOfNBackendsUnavailable_MovesOnlyItsKeysLikeRemoval(int n)
    {
        var backends = TestBackends.WithWeights(Enumerable.Repeat(1, n).ToArray());
        var down = backends[1];
        var balancer = new WeightedHashBalancer(backends);
        var before = MapKeys(balancer);
        down.IsAvailable = false;
        var after = MapKeys(balancer);
        var rebuilt = MapKeys(new WeightedHashBalancer(backends.Where(b => b != down).ToArray()));

        AssertOnlyKeysOfMove(before, after, down, n, isAdd: false);
        Assert.That(after, Is.EqualTo(rebuilt), "walking past a down backend must match a ring built without it");
    }

    [TestCase(5)]
    [TestCase(10)]
    public void Pick_OneBackendAddedToN_RemapsAboutOneInNPlusOne(int n)
    {
        var backends = TestBackends.WithWeights(Enumerable.Repeat(1, n + 1).ToArray());
        var added = backends[n];
        var before = MapKeys(new WeightedHashBalancer(backends[..n]));
        var after = MapKeys(new WeightedHashBalancer(backends));

        AssertOnlyKeysOfMove(before, after, added, n + 1, isAdd: true);
    }

    [Test]
    public void Pick_OwnerIsAvoided_WalksToAnotherBackendConsistently()
    {
        var backends = TestBackends.WithWeights(1, 1, 1);
        var balancer = new WeightedHashBalancer(backends);

        for (var i = 0; i < 1_000; i++)
        {
            var owner = balancer.Pick(new PickContext { HashKey = Keys[i] });
            var retry = balancer.Pick(new PickContext { HashKey = Keys[i], Avoid = owner, Attempt = 1 });
            var again = balancer.Pick(new PickContext { HashKey = Keys[i], Avoid = owner, Attempt = 1 });
            Assert.That(retry, Is.Not.Null.And.Not.SameAs(owner));
            Assert.That(again, Is.SameAs(retry));
        }
    }

    [Test]
    public void Pick_AllUnavailable_ReturnsNull()
    {
        var backends = TestBackends.WithWeights(1, 2);
        foreach (var b in backends)
        {
            b.IsAvailable = false;
        }

        var balancer = new WeightedHashBalancer(backends);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(balancer.Pick(new PickContext { HashKey = Keys[0] }), Is.Null);
            Assert.That(balancer.Pick(default), Is.Null);
        }
    }

    [Test]
    public void Pick_NoBackends_ReturnsNull()
    {
        Assert.That(new WeightedHashBalancer([]).Pick(new PickContext { HashKey = Keys[0] }), Is.Null);
    }

    [Test]
    public void Pick_AvoidIsTheOnlyAvailable_ReturnsItOnlyOnFirstAttempt()
    {
        var backends = TestBackends.WithWeights(1, 1, 1);
        backends[0].IsAvailable = false;
        backends[2].IsAvailable = false;
        var balancer = new WeightedHashBalancer(backends);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(balancer.Pick(new PickContext { HashKey = Keys[0], Avoid = backends[1] }), Is.SameAs(backends[1]));
            Assert.That(balancer.Pick(new PickContext { HashKey = Keys[0], Avoid = backends[1], Attempt = 1 }), Is.Null);
        }
    }

    [Test]
    public void Pick_BoundedLoadOwnerOverItsShare_SpillsToAnotherBackend()
    {
        var backends = TestBackends.WithWeights(1, 1, 1);
        var key = Keys[0];
        var owner = new WeightedHashBalancer(backends).Pick(new PickContext { HashKey = key })!;
        for (var i = 0; i < 10; i++)
        {
            owner.EnterInFlight();
        }

        var unbounded = new WeightedHashBalancer(backends);
        var bounded = new WeightedHashBalancer(backends, balanceFactor: 125);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(unbounded.Pick(new PickContext { HashKey = key }), Is.SameAs(owner));
            Assert.That(bounded.Pick(new PickContext { HashKey = key }), Is.Not.Null.And.Not.SameAs(owner));
        }
    }

    [Test]
    public void Pick_BoundedLoadUnderShare_KeepsOwner()
    {
        var backends = TestBackends.WithWeights(1, 1, 1);
        foreach (var b in backends)
        {
            b.EnterInFlight();
        }

        var plain = new WeightedHashBalancer(backends);
        var bounded = new WeightedHashBalancer(backends, balanceFactor: 150);

        for (var i = 0; i < 1_000; i++)
        {
            Assert.That(bounded.Pick(new PickContext { HashKey = Keys[i] }), Is.SameAs(plain.Pick(new PickContext { HashKey = Keys[i] })));
        }
    }

    [Test]
    public void Create_BalanceFactorBelow100_Throws()
    {
        Assert.That(() => new WeightedHashBalancer(TestBackends.WithWeights(1), balanceFactor: 50), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void Create_ManyHeavyBackends_CapsRingAndKeepsEveryBackend()
    {
        var weights = Enumerable.Range(1, 1000).ToArray();
        var backends = TestBackends.WithWeights(weights);
        var balancer = new WeightedHashBalancer(backends);
        var seen = new HashSet<BackendState>();
        for (var i = 0; i < balancer.RingSize; i++)
        {
            seen.Add(balancer.Pick(default)!);
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(balancer.RingSize, Is.LessThanOrEqualTo(WeightedHashBalancer.MaxRingPoints + weights.Length));
            Assert.That(seen, Has.Count.EqualTo(weights.Length));
        }
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(7)]
    [TestCase(1_000)]
    public void Successor_SortedPoints_MatchesLinearLowerBoundWithWrap(int length)
    {
        var random = new Random(length);
        var points = new ulong[length];
        for (var i = 0; i < length; i++)
        {
            // Narrow range so probes hit exact points and duplicates as well as gaps, and top bits vary for buckets.
            points[i] = (ulong)random.Next(0, length * 3) * (ulong.MaxValue / (ulong)(length * 3));
        }

        Array.Sort(points);
        var probes = new List<ulong> { 0, ulong.MaxValue, points[0], points[^1], points[^1] + 1 };
        for (var i = 0; i < 2_000; i++)
        {
            var step = ulong.MaxValue / (ulong)(length * 3);
            var at = (ulong)random.Next(0, length * 3) * step;
            probes.Add(at);
            probes.Add(at - 1);
            probes.Add(at + 1);
        }

        var (buckets, shift) = WeightedHashBalancer.BuildBuckets(points);
        int[] oneBucket = [0, points.Length];
        foreach (var hash in probes)
        {
            var expected = Array.FindIndex(points, p => p >= hash);
            expected = expected < 0 ? 0 : expected;
            Assert.That(WeightedHashBalancer.Successor(points, buckets, shift, hash), Is.EqualTo(expected), $"hash {hash:x}");
            Assert.That(WeightedHashBalancer.Successor(points, oneBucket, 64, hash), Is.EqualTo(expected), $"hash {hash:x}, one bucket");
        }
    }

    private static int[] CountPicks(BackendState[] backends, WeightedHashBalancer balancer)
    {
        var counts = new int[backends.Length];
        foreach (var key in Keys)
        {
            counts[TestBackends.IndexOf(backends, balancer.Pick(new PickContext { HashKey = key }))]++;
        }

        return counts;
    }

    private static BackendState[] MapKeys(WeightedHashBalancer balancer)
    {
        var map = new BackendState[KeyCount];
        for (var i = 0; i < KeyCount; i++)
        {
            map[i] = balancer.Pick(new PickContext { HashKey = Keys[i] })!;
        }

        return map;
    }

    // Every key that moved must move from (remove) or to (add) the changed backend, and the moved fraction must be
    // within 1.2x either way of the ideal 1/N.
    private static void AssertOnlyKeysOfMove(BackendState[] before, BackendState[] after, BackendState changed, int n, bool isAdd)
    {
        var moved = 0;
        var strays = 0;
        for (var i = 0; i < before.Length; i++)
        {
            if (before[i] == after[i])
            {
                continue;
            }

            moved++;
            if ((isAdd ? after[i] : before[i]) != changed)
            {
                strays++;
            }
        }

        var ideal = 1.0 / n;
        var fraction = moved / (double)before.Length;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(strays, Is.Zero, "keys moved between backends that did not change");
            Assert.That(fraction, Is.InRange(ideal / 1.2, ideal * 1.2), "fraction of keys moved");
        }
    }
}
