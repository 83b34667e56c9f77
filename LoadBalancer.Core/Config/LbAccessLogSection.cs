namespace LoadBalancer.Core.Config;

/// <summary><c>[access_log]</c>.</summary>
internal sealed class LbAccessLogSection
{
    public required string Path { get; init; }

    public required SourcePosition Position { get; init; }

    /// <summary>"stdout" or a file path (relative paths are relative to lb.toml's directory).</summary>
    public ConfigValue<string>? Target { get; set; }

    public ConfigValue<long>? BufferLines { get; set; }
}
