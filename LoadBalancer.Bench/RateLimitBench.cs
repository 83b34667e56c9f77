using BenchmarkDotNet.Attributes;
using LoadBalancer.Core.Cluster;
using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Bench;

/// <summary>
/// What a rate-limited request pays in ProxyExchange.Admit: the local <see cref="TokenBucket"/> (one timestamp, one
/// CAS), and the fleet-wide <see cref="ClusterRateLimiter"/> leasing (one Interlocked.Decrement, no clock) or in its
/// fallback (the decrement, then a local bucket). None of them refuses during a run. Allocated must read 0 B.
/// </summary>
[MemoryDiagnoser]
public class RateLimitBench
{
    private TokenBucket _local = null!;
    private ClusterRateLimiter _leasing = null!;
    private ClusterRateLimiter _fallback = null!;

    [GlobalSetup]
    public void Setup()
    {
        _local = new TokenBucket(1_000_000, 1_000_000);
        _leasing = new ClusterRateLimiter("t", 1_000_000, 1_000_000, 1, TimeSpan.FromMilliseconds(100));
        _fallback = new ClusterRateLimiter("t", 1_000_000, 1_000_000, 1, TimeSpan.FromMilliseconds(100));

        // More tokens than a run can spend: the leasing limiter never refuses and never needs a round.
        _leasing.Grant(long.MaxValue / 4);
    }

    [Benchmark(Baseline = true)]
    public bool Local() => _local.TryAcquire();

    [Benchmark]
    public bool ClusterLeasing() => _leasing.TryAcquire();

    [Benchmark]
    public bool ClusterFallback() => _fallback.TryAcquire();
}
