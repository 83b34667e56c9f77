namespace LoadBalancer.Core.Config;

/// <summary><c>[cluster]</c>: this instance's name in a fleet, and the Redis that makes tenant rate limits fleet-wide.</summary>
internal sealed class LbClusterSection
{
    public required string Path { get; init; }

    public required SourcePosition Position { get; init; }

    public ConfigValue<string>? Redis { get; set; }

    public ConfigValue<string>? InstanceId { get; set; }

    public ConfigValue<string>? SyncInterval { get; set; }
}
