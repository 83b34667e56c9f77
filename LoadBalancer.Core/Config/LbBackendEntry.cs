namespace LoadBalancer.Core.Config;

/// <summary>One entry of a pool's <c>backends</c> array.</summary>
internal sealed class LbBackendEntry
{
    public required string Path { get; init; }

    public required SourcePosition Position { get; init; }

    public ConfigValue<string>? Address { get; set; }

    /// <summary>Null means the default weight of 1.</summary>
    public ConfigValue<long>? Weight { get; set; }
}
