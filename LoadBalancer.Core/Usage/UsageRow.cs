namespace LoadBalancer.Core.Usage;

/// <summary>The key of one ledger row: a UTC minute (Unix seconds / 60), tenant, consumer, route and status class (or refusal reason).</summary>
internal readonly record struct UsageKey(long Minute, string Tenant, string Consumer, string Route, string StatusClass);

/// <summary>What a flush adds to one row (a refusal or quota row uses <see cref="Requests"/> only).</summary>
internal sealed class UsageDelta
{
    public long Requests;
    public long BytesIn;
    public long BytesOut;
    public long DurationMicros;
}
