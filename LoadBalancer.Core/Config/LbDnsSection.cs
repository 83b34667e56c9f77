namespace LoadBalancer.Core.Config;

/// <summary><c>[dns]</c>: the name servers backend names are resolved with, and the TTL clamps and hold time.</summary>
internal sealed class LbDnsSection
{
    public required string Path { get; init; }

    public required SourcePosition Position { get; init; }

    public List<ConfigValue<string>?>? Servers { get; set; }

    public SourcePosition ServersPosition { get; set; }

    public ConfigValue<string>? MinTtl { get; set; }

    public ConfigValue<string>? MaxTtl { get; set; }

    public ConfigValue<string>? Hold { get; set; }
}
