namespace LoadBalancer.Core.Config;

/// <summary>One <c>[[tenants]]</c> entry.</summary>
internal sealed class LbTenantSection
{
    public required string Path { get; init; }

    public required SourcePosition Position { get; init; }

    /// <summary>The parsed table's <see cref="TableFingerprint"/>: an unchanged one lets a reload reuse the compiled tenant.</summary>
    public UInt128 Fingerprint { get; init; }

    public ConfigValue<string>? Name { get; set; }

    /// <summary>Null when absent or not an array; elements that are not strings are null (and reported).</summary>
    public List<ConfigValue<string>?>? Match { get; set; }

    public SourcePosition MatchPosition { get; set; }

    /// <summary>The fallback pool when no route matches; null when absent (then a request no route matches gets 404).</summary>
    public ConfigValue<string>? Pool { get; set; }

    /// <summary>Null means "every http listener".</summary>
    public List<ConfigValue<string>?>? Listeners { get; set; }

    /// <summary><c>rate_limit = { requests_per_second, burst }</c>; the table's position for errors about it as a whole.</summary>
    public SourcePosition? RateLimitPosition { get; set; }

    public ConfigValue<long>? RequestsPerSecond { get; set; }

    public ConfigValue<long>? Burst { get; set; }

    public ConfigValue<long>? MaxConnections { get; set; }

    public ConfigValue<long>? MaxInFlight { get; set; }

    public ConfigValue<long>? MaxBodyBytes { get; set; }

    /// <summary>Null when absent or not an array of tables.</summary>
    public List<LbAccessKeyEntry>? AccessKeys { get; set; }

    public ConfigValue<string>? AccessKeysFile { get; set; }

    public ConfigValue<string>? AccessKeyHeader { get; set; }

    /// <summary><c>key_approval</c>: "auto" (default) or "manual"; read by the management API when it creates a key.</summary>
    public ConfigValue<string>? KeyApproval { get; set; }

    /// <summary>The tenant's default <c>request_headers</c> (every request of the tenant, under a route's own).</summary>
    public LbHeaderTransformSection? RequestHeaders { get; set; }

    public LbHeaderTransformSection? ResponseHeaders { get; set; }

    /// <summary><c>[[tenants.routes]]</c> in file order; empty when none.</summary>
    public List<LbRouteSection> Routes { get; } = [];

    /// <summary>Set by the validator: some <c>[[consumers]]</c> entry names this tenant (its keys then guard it).</summary>
    public bool HasConsumers { get; set; }

    /// <summary>Keys read from <see cref="AccessKeysFile"/> by the validator (id, 32-byte hash), for the compiler.</summary>
    public List<KeysFileLine> FileKeys { get; } = [];
}
