namespace LoadBalancer.Core.Config;

/// <summary>One <c>[[pools]]</c> entry.</summary>
internal sealed class LbPoolSection
{
    public required string Path { get; init; }

    public required SourcePosition Position { get; init; }

    public ConfigValue<string>? Name { get; set; }

    /// <summary>Null means round-robin.</summary>
    public ConfigValue<string>? Balancer { get; set; }

    public ConfigValue<string>? HashOn { get; set; }

    /// <summary>Null when absent or not an array of tables.</summary>
    public List<LbBackendEntry>? Backends { get; set; }

    public SourcePosition BackendsPosition { get; set; }

    public ConfigValue<string>? Connect { get; set; }

    public ConfigValue<string>? ResponseHead { get; set; }

    public ConfigValue<string>? Idle { get; set; }

    /// <summary>"v1" or "v2": send a PROXY protocol header on every new backend connection.</summary>
    public ConfigValue<string>? SendProxyProtocol { get; set; }
}
