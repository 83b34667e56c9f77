namespace LoadBalancer.Core.Config;

/// <summary>One <c>[[pools]]</c> entry.</summary>
internal sealed partial class LbPoolSection
{
    public required string Path { get; init; }

    public required SourcePosition Position { get; init; }

    /// <summary>The parsed table's <see cref="TableFingerprint"/>: an unchanged one lets a reload reuse the compiled pool.</summary>
    public UInt128 Fingerprint { get; init; }

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

    /// <summary><c>timeouts.queue</c>: how long a request waits for a backend slot under <see cref="MaxConnectionsPerBackend"/>.</summary>
    public ConfigValue<string>? Queue { get; set; }

    public ConfigValue<long>? MaxConnectionsPerBackend { get; set; }

    /// <summary>"v1" or "v2": send a PROXY protocol header on every new backend connection.</summary>
    public ConfigValue<string>? SendProxyProtocol { get; set; }

    /// <summary>"http/1.1" (the default) or "h2": the protocol lb speaks to the pool's backends.</summary>
    public ConfigValue<string>? Protocol { get; set; }
}
