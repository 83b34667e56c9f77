using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Core.Usage;

/// <summary>
/// The live, monotonic counters of one (tenant, consumer, route) for the usage ledger: per status class the requests,
/// bytes in, bytes out and duration; refusals by reason; and the requests counted against a quota. The hot path adds
/// with Interlocked and nothing else; the ledger's writer reads them once a second and stores the differences, so
/// every request lands in exactly one flush. Kept by the tenant's state by (consumer, route) across reloads.
/// </summary>
public sealed class UsageCell
{
    /// <summary>Refusal slots: <see cref="RefusalReasons"/>, then the tenant's or route's own rate limit (429).</summary>
    public const int RefusalSlots = RefusalReasons.Count + 1;

    public const int RateLimitedSlot = RefusalReasons.Count;

    internal readonly long[] Requests = new long[StatusClasses.Count];
    internal readonly long[] BytesIn = new long[StatusClasses.Count];
    internal readonly long[] BytesOut = new long[StatusClasses.Count];
    internal readonly long[] DurationTicks = new long[StatusClasses.Count];
    internal readonly long[] Refused = new long[RefusalSlots];
    internal long QuotaCounted;

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

    internal void Count(int status, long bytesIn, long bytesOut, long elapsedTicks, int refusal, bool quota)
    {
        var statusClass = StatusClasses.Of(status);
        Interlocked.Increment(ref Requests[statusClass]);
        Interlocked.Add(ref BytesIn[statusClass], bytesIn);
        Interlocked.Add(ref BytesOut[statusClass], bytesOut);
        Interlocked.Add(ref DurationTicks[statusClass], elapsedTicks);
        if (refusal >= 0)
        {
            Interlocked.Increment(ref Refused[refusal]);
        }

        if (quota)
        {
            Interlocked.Increment(ref QuotaCounted);
        }
    }
}
