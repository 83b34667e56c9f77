using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Core.Usage;

/// <summary>
/// The live, monotonic counters of one (tenant, consumer, route) for the usage ledger: per status class the requests,
/// bytes in, bytes out and duration; refusals by reason; and the requests counted against a quota. The hot path adds
/// with Interlocked to its event loop's copy (<see cref="Counters.LoopCounters"/>) and nothing else; the ledger's
/// writer reads the sums once a second and stores the differences, so every request lands in exactly one flush. Kept
/// by the tenant's state by (consumer, route) across reloads.
/// </summary>
public sealed class UsageCell
{
    /// <summary>Refusal slots: <see cref="RefusalReasons"/>, then the tenant's or route's own rate limit (429).</summary>
    public const int RefusalSlots = RefusalReasons.Count + 1;

    public const int RateLimitedSlot = RefusalReasons.Count;

    // Counter slots, one LoopCounters: per status class the requests, bytes in, bytes out and duration ticks, then
    // the refusal slots, then the quota count.
    internal const int RequestsAt = 0;
    internal const int BytesInAt = StatusClasses.Count;
    internal const int BytesOutAt = 2 * StatusClasses.Count;
    internal const int DurationAt = 3 * StatusClasses.Count;
    internal const int RefusedAt = 4 * StatusClasses.Count;
    internal const int QuotaAt = RefusedAt + RefusalSlots;
    internal const int Width = QuotaAt + 1;

    private readonly Counters.LoopCounters _counters = new(Width);

    public UsageCell(string tenant, string consumer, string route)
    {
        Tenant = tenant;
        Consumer = consumer;
        Route = route;
    }

    public string Tenant { get; }

    /// <summary>Empty when the requests presented no consumer key.</summary>
    public string Consumer { get; }

    /// <summary>Empty for requests no route matched.</summary>
    public string Route { get; }

    public static string RefusalName(int slot) => slot == RateLimitedSlot ? "rate_limited" : RefusalReasons.Name(slot);

    /// <summary>Counter <paramref name="slot"/> (see the slot constants), summed over the loops.</summary>
    internal long Read(int slot) => _counters.Sum(slot);

    internal void Count(int status, long bytesIn, long bytesOut, long elapsedTicks, int refusal, bool quota)
    {
        var statusClass = StatusClasses.Of(status);
        var mine = _counters.LocalCopy();
        Interlocked.Increment(ref mine[RequestsAt + statusClass]);
        Interlocked.Add(ref mine[BytesInAt + statusClass], bytesIn);
        Interlocked.Add(ref mine[BytesOutAt + statusClass], bytesOut);
        Interlocked.Add(ref mine[DurationAt + statusClass], elapsedTicks);
        if (refusal >= 0)
        {
            Interlocked.Increment(ref mine[RefusedAt + refusal]);
        }

        if (quota)
        {
            Interlocked.Increment(ref mine[QuotaAt]);
        }
    }
}
