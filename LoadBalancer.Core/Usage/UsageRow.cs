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

/// <summary>What a flush adds to one row of the <c>connections</c> table (a tenant's tcp listeners' connections in a minute).</summary>
internal sealed class ConnectionDelta
{
    public long Connections;
    public long Refused;
    public long BytesIn;
    public long BytesOut;
    public long DurationMicros;

    public bool IsEmpty => Connections == 0 && Refused == 0 && BytesIn == 0 && BytesOut == 0 && DurationMicros == 0;
}
