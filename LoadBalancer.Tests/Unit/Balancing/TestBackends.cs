using System.Net;
using LoadBalancer.Core.Routing;
using NUnit.Framework;

namespace LoadBalancer.Tests.Unit.Balancing;

/// <summary>Builds backend states for balancer tests: one per weight, with distinct, stable addresses.</summary>
internal static class TestBackends
{
    public static BackendState[] WithWeights(params int[] weights)
    {
        var backends = new BackendState[weights.Length];
        for (var i = 0; i < weights.Length; i++)
        {
            backends[i] = Create(i, weights[i]);
        }

        return backends;
    }

    public static BackendState Create(int id, int weight = 1) =>
        new(new Backend($"10.0.{id / 250}.{(id % 250) + 1}:8080", new IPEndPoint(IPAddress.Loopback, 20_000 + id), weight));

    /// <summary>Random 16-byte keys from a fixed seed, so every run sees the same keys.</summary>
    public static byte[][] RandomKeys(int count, int seed)
    {
        var random = new Random(seed);
        var keys = new byte[count][];
        for (var i = 0; i < count; i++)
        {
            keys[i] = new byte[16];
            random.NextBytes(keys[i]);
        }

        return keys;
    }

    /// <summary>Index of <paramref name="picked"/> in <paramref name="backends"/>; fails the test on null or a stranger.</summary>
    public static int IndexOf(BackendState[] backends, BackendState? picked)
    {
        Assert.That(picked, Is.Not.Null, "Pick returned null");
        var index = Array.IndexOf(backends, picked);
        Assert.That(index, Is.GreaterThanOrEqualTo(0), "Pick returned a backend outside the pool");
        return index;
    }

    /// <summary>
    /// Each backend's share of the picks is within <paramref name="tolerance"/> (absolute, e.g. 0.02 = 2 percentage
    /// points) of its share of the total weight. Unavailable backends are expected to get nothing.
    /// </summary>
    public static void AssertSharesFollowWeights(BackendState[] backends, int[] counts, double tolerance)
    {
        double totalWeight = 0;
        long totalPicks = 0;
        for (var i = 0; i < backends.Length; i++)
        {
            totalWeight += backends[i].IsAvailable ? backends[i].Weight : 0;
            totalPicks += counts[i];
        }

        using (Assert.EnterMultipleScope())
        {
            for (var i = 0; i < backends.Length; i++)
            {
                var expected = backends[i].IsAvailable ? backends[i].Weight / totalWeight : 0;
                var actual = counts[i] / (double)totalPicks;
                Assert.That(actual, Is.EqualTo(expected).Within(tolerance), $"share of backend {i} (weight {backends[i].Weight})");
            }
        }
    }
}
