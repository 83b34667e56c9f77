namespace LoadBalancer.Core.Config;

/// <summary>One <c>[[tenants]]</c> entry.</summary>
internal sealed class LbTenantSection
{
    public required string Path { get; init; }

    public required SourcePosition Position { get; init; }

    public ConfigValue<string>? Name { get; set; }

    /// <summary>Null when absent or not an array; elements that are not strings are null (and reported).</summary>
    public List<ConfigValue<string>?>? Match { get; set; }

    public SourcePosition MatchPosition { get; set; }

    public ConfigValue<string>? Pool { get; set; }

    /// <summary>Null means "every http listener".</summary>
    public List<ConfigValue<string>?>? Listeners { get; set; }
}
