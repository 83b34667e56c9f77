namespace LoadBalancer.Core.Config;

/// <summary>One <c>[[consumers]]</c> entry: who calls a tenant's APIs, with its keys, limits and subscriptions.</summary>
internal sealed class LbConsumerSection
{
    public required string Path { get; init; }

    public required SourcePosition Position { get; init; }

    public ConfigValue<string>? Name { get; set; }

    public ConfigValue<string>? Tenant { get; set; }

    /// <summary><c>keys = [ { id, sha256 } ]</c>; null when absent.</summary>
    public List<LbAccessKeyEntry>? Keys { get; set; }

    public ConfigValue<string>? KeysFile { get; set; }

    public SourcePosition? RateLimitPosition { get; set; }

    public ConfigValue<long>? RequestsPerSecond { get; set; }

    public ConfigValue<long>? Burst { get; set; }

    public SourcePosition? QuotaPosition { get; set; }

    public ConfigValue<long>? QuotaRequests { get; set; }

    public ConfigValue<string>? QuotaPeriod { get; set; }

    /// <summary>Route names it is subscribed to; null means every route of the tenant (and its fallback pool).</summary>
    public List<ConfigValue<string>?>? Routes { get; set; }

    public SourcePosition RoutesPosition { get; set; }

    /// <summary>Keys read from <see cref="KeysFile"/> by the validator, for the compiler.</summary>
    public List<KeysFileLine> FileKeys { get; } = [];
}
