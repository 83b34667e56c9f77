namespace LoadBalancer.Core.Config;

/// <summary><c>[admin]</c>.</summary>
internal sealed class LbAdminSection
{
    public required string Path { get; init; }

    public required SourcePosition Position { get; init; }

    public ConfigValue<string>? Listen { get; set; }
}
