namespace LoadBalancer.Core.Config;

/// <summary><c>[usage]</c>: the durable usage ledger.</summary>
internal sealed class LbUsageSection
{
    public required string Path { get; init; }

    public required SourcePosition Position { get; init; }

    public ConfigValue<string>? File { get; set; }

    public ConfigValue<string>? Retention { get; set; }

    public ConfigValue<string>? FlushInterval { get; set; }
}
