namespace LoadBalancer.Core.Config;

/// <summary>One <c>[[tenants.routes]]</c> entry: what it matches, where it goes, what it changes, and its limits.</summary>
internal sealed class LbRouteSection
{
    public required string Path { get; init; }

    public required SourcePosition Position { get; init; }

    /// <summary>Its index among the tenant's routes (file order, the last tie-breaker of precedence).</summary>
    public required int Index { get; init; }

    public ConfigValue<string>? Name { get; set; }

    /// <summary><c>path</c>: an exact path.</summary>
    public ConfigValue<string>? ExactPath { get; set; }

    public ConfigValue<string>? PathPrefix { get; set; }

    /// <summary>Null when absent (any method); elements that are not strings are null (and reported).</summary>
    public List<ConfigValue<string>?>? Methods { get; set; }

    public SourcePosition MethodsPosition { get; set; }

    /// <summary><c>headers = { name = "value" }</c>: exact matches, every one required. Null when absent.</summary>
    public List<(ConfigValue<string> Name, ConfigValue<string> Value)>? Headers { get; set; }

    public ConfigValue<string>? Pool { get; set; }

    public ConfigValue<string>? StripPrefix { get; set; }

    public ConfigValue<string>? RewritePrefix { get; set; }

    public ConfigValue<string>? Host { get; set; }

    public LbHeaderTransformSection? RequestHeaders { get; set; }

    public LbHeaderTransformSection? ResponseHeaders { get; set; }

    public ConfigValue<string>? Connect { get; set; }

    public ConfigValue<string>? ResponseHead { get; set; }

    public ConfigValue<string>? Queue { get; set; }

    public SourcePosition? RateLimitPosition { get; set; }

    public ConfigValue<long>? RequestsPerSecond { get; set; }

    public ConfigValue<long>? Burst { get; set; }

    public ConfigValue<long>? MaxBodyBytes { get; set; }
}
