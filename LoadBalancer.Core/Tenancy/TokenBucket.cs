using System.Diagnostics;

namespace LoadBalancer.Core.Tenancy;

/// <summary>
/// A lock-free token bucket (<c>rate_limit = { requests_per_second, burst }</c>) in its GCRA form: one long holds the
/// theoretical arrival time (TAT) of the next request, in <see cref="Stopwatch"/> ticks. A request at <c>now</c> is
/// admitted when <c>max(TAT, now) + interval - now &lt;= burst * interval</c>, i.e. when at least one token is left
/// of a bucket holding <c>burst</c> tokens and refilled continuously at <c>requests_per_second</c>; then TAT moves on
/// by one interval with a CAS. Cost per request: a timestamp and one CAS, no lock, no allocation.
/// </summary>
/// <remarks>
/// System.Threading.RateLimiting's TokenBucketRateLimiter gives the same arithmetic, but takes a lock on every
/// acquire (and on every manual replenish), allocates a lease for every refusal, and needs a timer or a replenish call
/// per request; under a flood that lock is shared by all of a tenant's connections. This keeps the same contract
/// (tokens, burst, continuous refill) with one CAS.
/// </remarks>
public sealed class TokenBucket
{
    private readonly long _interval;
    private readonly long _window;
    private long _tat;

    public TokenBucket(long requestsPerSecond, long burst)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(requestsPerSecond, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(burst, 1);
        RequestsPerSecond = requestsPerSecond;
        Burst = burst;
        _interval = Math.Max(1, Stopwatch.Frequency / requestsPerSecond);
        _window = _interval * burst;
    }

    public long RequestsPerSecond { get; }

    public long Burst { get; }

    public bool TryAcquire() => TryAcquire(Stopwatch.GetTimestamp());

    /// <summary>Takes one token at <paramref name="now"/> (Stopwatch ticks); false when the bucket is empty.</summary>
    public bool TryAcquire(long now)
    {
        var tat = Volatile.Read(ref _tat);
        while (true)
        {
            var next = Math.Max(tat, now) + _interval;
            if (next - now > _window)
            {
                return false;
            }

            var seen = Interlocked.CompareExchange(ref _tat, next, tat);
            if (seen == tat)
            {
                return true;
            }

            tat = seen;
        }
    }

    /// <summary>Tokens left at <paramref name="now"/> (for status pages; racy by nature).</summary>
    public double Available(long now)
    {
        var backlog = Math.Max(Volatile.Read(ref _tat) - now, 0);
        return Math.Max(0, (_window - backlog) / (double)_interval);
    }
}
