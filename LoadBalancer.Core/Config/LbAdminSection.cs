namespace LoadBalancer.Core.Config;

/// <summary><c>[admin]</c>.</summary>
internal sealed class LbAdminSection
{
    public required string Path { get; init; }

    public required SourcePosition Position { get; init; }

    public ConfigValue<string>? Listen { get; set; }

    /// <summary>Bearer token the admin endpoint requires; null means none.</summary>
    public ConfigValue<string>? Token { get; set; }
}
