using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Core.Cluster;

/// <summary>
/// A tenant's <c>rate_limit</c> shared by every lb instance that names the same Redis in <c>[cluster]</c>. The bucket
/// itself lives in Redis (<see cref="LeaseScript"/>); this instance spends tokens it leased from it in batches, so a
/// request never waits for Redis. Per request: one <see cref="Interlocked.Decrement(ref long)"/> and one volatile
/// read, no lock, no allocation.
/// </summary>
/// <remarks>
/// <para>
/// Leasing: <c>_tokens</c> is what this instance holds. A request takes one (admitted while the result is not
/// negative); refusals drive it below zero, which also counts them. Only the <see cref="ClusterSync"/> task adds to it,
/// with a compare-and-swap from <c>max(current, 0)</c>, so a refused attempt never spends a token leased later and
/// nothing is lost to a race. The attempts between two rounds are the drop of <c>_tokens</c> between them.
/// </para>
/// <para>
/// Each round the sync task tops the tokens held here up to twice the attempts per interval since the last round, at least
/// this instance's share of one round's refill (<c>ceil(rate * sync_interval / instances)</c>, so a quiet tenant's
/// first request is admitted at once) and at most <see cref="LeaseCap"/> (<c>ceil(2 * rate * sync_interval)</c>). So
/// one instance holds at most <see cref="LeaseCap"/> tokens and admits at most twice the rate, which gives the accuracy
/// bound in README ("Running a fleet").
/// </para>
/// <para>
/// Fallback: while Redis does not answer, <c>_fallback</c> holds a local <see cref="TokenBucket"/> of
/// <c>ceil(rate / instances)</c> and <c>ceil(burst / instances)</c>, the last known instance count, and requests go to it.
/// A limiter starts in fallback (with the count known when it was compiled), and leaves it at the first round Redis
/// answers.
/// </para>
/// </remarks>
public sealed class ClusterRateLimiter
{
    private long _tokens;
    private TokenBucket? _fallback;

    // The sync task's own state, touched by it alone: _tokens as it last left or read it, and attempts seen mid-round.
    private long _seen;
    private long _seenAt = long.MinValue;
    private long _carried;
    private int _fallbackInstances;

    public ClusterRateLimiter(string tenant, long requestsPerSecond, long burst, int instances, TimeSpan syncInterval)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(requestsPerSecond, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(burst, 1);
        Tenant = tenant;
        Key = LeaseScript.RateKeyPrefix + tenant;
        RequestsPerSecond = requestsPerSecond;
        Burst = burst;
        SyncInterval = syncInterval;
        LeaseCap = CapOf(requestsPerSecond, syncInterval);
        Capacity = Math.Max(burst, LeaseCap);
        EnterFallback(instances);
    }

    public string Tenant { get; }

    /// <summary>The tenant's bucket in Redis: <c>lb:rate:NAME</c>.</summary>
    internal string Key { get; }

    public long RequestsPerSecond { get; }

    public long Burst { get; }

    public TimeSpan SyncInterval { get; }

    /// <summary>The most tokens this instance holds at once: <c>ceil(2 * requests_per_second * sync_interval)</c>, at least 1.</summary>
    public long LeaseCap { get; }

    /// <summary>
    /// The shared bucket's size in Redis: <c>burst</c>, or <see cref="LeaseCap"/> when that is larger (a bucket smaller
    /// than one lease could never fill it, and the fleet would stay below the rate).
    /// </summary>
    public long Capacity { get; }

    /// <summary>True while Redis is not answering and the local share of the limit applies.</summary>
    public bool InFallback => Volatile.Read(ref _fallback) is not null;

    /// <summary>Takes one token; false when none is left (the request gets 429).</summary>
    public bool TryAcquire()
    {
        var left = Interlocked.Decrement(ref _tokens);
        var fallback = Volatile.Read(ref _fallback);
        return fallback is not null ? fallback.TryAcquire() : left >= 0;
    }

    /// <summary>Leased tokens not spent yet (or the fallback bucket's), for status pages; racy by nature.</summary>
    public double Available(long now)
    {
        if (Volatile.Read(ref _fallback) is { } fallback)
        {
            return fallback.Available(now);
        }

        return Math.Max(0, Volatile.Read(ref _tokens));
    }

    internal static long CapOf(long requestsPerSecond, TimeSpan syncInterval) =>
        Math.Max(1, (long)Math.Ceiling(2.0 * requestsPerSecond * syncInterval.TotalSeconds));

    /// <summary>
    /// Sync task: the tokens to ask Redis for this round (0: enough held), from the attempts since the last round at
    /// <paramref name="now"/> (monotonic, in <see cref="TimeSpan"/> ticks), scaled to one <see cref="SyncInterval"/>:
    /// rounds are jittered, so a short one must not leave too little for a long one after it.
    /// </summary>
    internal long Want(int instances, long now)
    {
        var tokens = Volatile.Read(ref _tokens);
        var attempts = _seen - tokens + _carried;
        var elapsed = _seenAt == long.MinValue ? SyncInterval.Ticks : Math.Max(now - _seenAt, SyncInterval.Ticks / 4);
        var demand = (long)Math.Ceiling(attempts * (double)SyncInterval.Ticks / elapsed);
        _seen = tokens;
        _seenAt = now;
        _carried = 0;
        var floor = Math.Min(LeaseCap, Math.Max(1, (long)Math.Ceiling(RequestsPerSecond * SyncInterval.TotalSeconds / Math.Max(1, instances))));
        var target = Math.Clamp(2 * demand, floor, LeaseCap);
        return Math.Max(0, target - Math.Max(0, tokens));
    }

    /// <summary>Sync task: Redis answered this round with <paramref name="tokens"/> (maybe 0); leasing applies from now.</summary>
    internal void Grant(long tokens)
    {
        long current, next;
        do
        {
            current = Volatile.Read(ref _tokens);
            next = Math.Max(current, 0) + tokens;
        }
        while (Interlocked.CompareExchange(ref _tokens, next, current) != current);

        // Attempts while the round was out count towards the next round's demand.
        _carried = _seen - current;
        _seen = next;
        if (Volatile.Read(ref _fallback) is not null)
        {
            Volatile.Write(ref _fallback, null);
        }
    }

    /// <summary>Sync task: Redis did not answer; the local share of the limit applies until it does (kept while the count is the same).</summary>
    internal void EnterFallback(int instances)
    {
        instances = Math.Max(1, instances);
        if (Volatile.Read(ref _fallback) is not null && _fallbackInstances == instances)
        {
            return;
        }

        _fallbackInstances = instances;
        Volatile.Write(ref _fallback, new TokenBucket(Share(RequestsPerSecond, instances), Share(Burst, instances)));
    }

    private static long Share(long value, int instances) => Math.Max(1, (value + instances - 1) / instances);
}
