namespace LoadBalancer.Core.Config;

/// <summary><c>[server]</c>: process-wide settings that are not about one listener, tenant or pool.</summary>
internal sealed class LbServerSection
{
    public required string Path { get; init; }

    public required SourcePosition Position { get; init; }

    public ConfigValue<string>? DrainTimeout { get; set; }
}
