namespace LoadBalancer.Core.Config;

/// <summary>
/// lb.toml as read, before validation: every field is null when absent or of the wrong type (the loader has already
/// reported which). Mutable and positioned; never leaves Config/.
/// </summary>
internal sealed class LbConfigFile
{
    /// <summary>
    /// <see cref="TableFingerprint"/> of everything but the tenants and pools: when it differs from the live
    /// snapshot's, a reload compiles everything afresh (listeners, consumers, cluster and defaults reach every tenant).
    /// </summary>
    public UInt128 GlobalFingerprint { get; set; }

    public LbAdminSection? Admin { get; set; }

    public LbUsageSection? Usage { get; set; }

    public LbAccessLogSection? AccessLog { get; set; }
    public LbServerSection? Server { get; set; }

    public LbClusterSection? Cluster { get; set; }

    public LbDnsSection? Dns { get; set; }

    public List<LbListenerSection> Listeners { get; } = [];

    public List<LbTenantSection> Tenants { get; } = [];

    public List<LbPoolSection> Pools { get; } = [];

    public List<LbConsumerSection> Consumers { get; } = [];
}
