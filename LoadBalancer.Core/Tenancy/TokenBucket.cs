using System.Diagnostics;
using LoadBalancer.Core.Counters;

namespace LoadBalancer.Core.Tenancy;

/// <summary>
/// A lock-free token bucket (<c>rate_limit = { requests_per_second, burst }</c>) in its GCRA form: one long holds the
/// theoretical arrival time (TAT) of the next request, in <see cref="Stopwatch"/> ticks. A request at <c>now</c> is
/// admitted when <c>max(TAT, now) + interval - now &lt;= burst * interval</c>, i.e. when at least one token is left
/// of a bucket holding <c>burst</c> tokens and refilled continuously at <c>requests_per_second</c>; then TAT moves on
/// by one interval with a CAS. Cost per request: a timestamp and one CAS, no lock, no allocation.
/// </summary>
/// <remarks>
/// <para>
/// Per event loop (issue 15): on a loop thread the bucket is not touched per request. Each loop takes tokens from it
/// in batches of <see cref="Batch"/> (the same GCRA step, moving TAT by as many intervals as tokens it takes, fewer
/// when fewer are left) into its own copy, and spends them with one uncontended decrement; the bucket's cache line
/// moves between cores once per batch instead of once per request. A loop whose copy is empty takes the next batch,
/// and one that finds the bucket empty is refused: the loops' shares follow their demand, batch by batch. Tokens a loop
/// holds for more than <see cref="MaxHoldTicks"/> (100 ms) go back to the bucket at its next request, so a loop that
/// went quiet does not spend old tokens later.
/// </para>
/// <para>
/// Bound: every admitted request spent a token the bucket issued, so from any state the bucket admits at most what
/// the exact GCRA admits plus the tokens the loops held at the start of the interval, and at least the exact count
/// minus what they hold at its end: within <c>loops * Batch</c> either way, where
/// <c>Batch = max(1, min(requests_per_second / 1000, burst / (2 * loops)))</c>: about a millisecond of the rate per
/// loop, and never more than half the burst over all loops. From a full bucket (or one that is idle and refilled)
/// it never admits more than the exact count. Off every loop (.NET's engine, tests) every request takes its token
/// from the bucket itself: exact.
/// </para>
/// <para>
/// System.Threading.RateLimiting's TokenBucketRateLimiter gives the same arithmetic, but takes a lock on every
/// acquire (and on every manual replenish), allocates a lease for every refusal, and needs a timer or a replenish call
/// per request; under a flood that lock is shared by all of a tenant's connections.
/// </para>
/// </remarks>
public sealed class TokenBucket
{
    /// <summary>How long a loop keeps tokens it took before they go back: 100 ms.</summary>
    internal static readonly long MaxHoldTicks = Stopwatch.Frequency / 10;

    // Per loop: the tokens it holds, and when it took them.
    private const int HeldIndex = 0;
    private const int TakenAtIndex = 1;

    private readonly long _interval;
    private readonly long _window;
    private readonly LoopCounters _held = new(2);
    private long _tat;

    public TokenBucket(long requestsPerSecond, long burst)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(requestsPerSecond, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(burst, 1);
        RequestsPerSecond = requestsPerSecond;
        Burst = burst;
        _interval = Math.Max(1, Stopwatch.Frequency / requestsPerSecond);
        _window = _interval * burst;
        var loops = Math.Max(1, LoopShard.ArrayLength - 1);
        Batch = Math.Max(1, Math.Min(requestsPerSecond / 1000, burst / (2 * loops)));
    }

    public long RequestsPerSecond { get; }

    public long Burst { get; }

    /// <summary>Tokens a loop takes from the bucket at a time (1 = every request goes to the bucket).</summary>
    internal long Batch { get; }

    public bool TryAcquire() => TryAcquire(Stopwatch.GetTimestamp());

    /// <summary>Takes one token at <paramref name="now"/> (Stopwatch ticks); false when the bucket is empty.</summary>
    public bool TryAcquire(long now)
    {
        if (Batch == 1 || LoopShard.CurrentLoop < 0)
        {
            return Take(now, 1) == 1;
        }

        var mine = _held.LocalCopy();
        if (Volatile.Read(ref mine[HeldIndex]) > 0)
        {
            if (now - Volatile.Read(ref mine[TakenAtIndex]) <= MaxHoldTicks)
            {
                // Interlocked: a copy is a loop's own, but an engine with more loops than the copies shares the last.
                if (Interlocked.Decrement(ref mine[HeldIndex]) >= 0)
                {
                    return true;
                }

                Interlocked.Increment(ref mine[HeldIndex]);
            }
            else
            {
                GiveBack(Interlocked.Exchange(ref mine[HeldIndex], 0));
            }
        }

        var taken = Take(now, Batch);
        if (taken == 0)
        {
            return false;
        }

        Volatile.Write(ref mine[TakenAtIndex], now);
        Interlocked.Add(ref mine[HeldIndex], taken - 1);
        return true;
    }

    /// <summary>Takes up to <paramref name="count"/> tokens from the bucket at <paramref name="now"/> (one CAS); how many it took.</summary>
    private long Take(long now, long count)
    {
        var tat = Volatile.Read(ref _tat);
        while (true)
        {
            var start = Math.Max(tat, now);
            var left = (_window - (start - now)) / _interval;
            if (left <= 0)
            {
                return 0;
            }

            var taken = Math.Min(left, count);
            var seen = Interlocked.CompareExchange(ref _tat, start + (taken * _interval), tat);
            if (seen == tat)
            {
                return taken;
            }

            tat = seen;
        }
    }

    /// <summary>Returns tokens a loop took and did not spend: TAT moves back by as many intervals.</summary>
    private void GiveBack(long tokens)
    {
        if (tokens > 0)
        {
            Interlocked.Add(ref _tat, -tokens * _interval);
        }
    }

    /// <summary>Tokens left at <paramref name="now"/>, with those the loops hold (for status pages; racy by nature).</summary>
    public double Available(long now)
    {
        var backlog = Math.Max(Volatile.Read(ref _tat) - now, 0);
        return Math.Max(0, (_window - backlog) / (double)_interval) + Math.Max(0, _held.Sum(HeldIndex));
    }
}
