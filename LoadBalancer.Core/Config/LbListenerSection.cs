namespace LoadBalancer.Core.Config;

/// <summary>One <c>[[listeners]]</c> entry.</summary>
internal sealed class LbListenerSection
{
    /// <summary>e.g. <c>listeners[0]</c>.</summary>
    public required string Path { get; init; }

    public required SourcePosition Position { get; init; }

    public ConfigValue<string>? Name { get; set; }

    public ConfigValue<string>? Listen { get; set; }

    public ConfigValue<string>? Protocol { get; set; }

    public ConfigValue<string>? TenantKey { get; set; }

    public ConfigValue<string>? DefaultTenant { get; set; }

    public ConfigValue<long>? MaxHeadBytes { get; set; }

    public ConfigValue<long>? MaxHeaders { get; set; }

    public ConfigValue<string>? RequestHead { get; set; }

    public ConfigValue<string>? KeepAlive { get; set; }

    public ConfigValue<string>? BodyIdle { get; set; }

    public ConfigValue<bool>? AcceptProxyProtocol { get; set; }

    /// <summary>
    /// <c>http2</c>: accept HTTP/2 on this http listener (prior knowledge in plaintext, ALPN <c>h2</c> with TLS). A table
    /// form sets it with its settings, see <see cref="Http2Settings"/>.
    /// </summary>
    public ConfigValue<bool>? Http2 { get; set; }

    /// <summary>The <c>http2 = { ... }</c> table, when written as one.</summary>
    public LbHttp2Section? Http2Settings { get; set; }

    public ConfigValue<bool>? ForwardedHeaders { get; set; }

    public ConfigValue<bool>? TrustForwardedHeaders { get; set; }

    public List<ConfigValue<string>?>? UpgradeProtocols { get; set; }

    public SourcePosition UpgradeProtocolsPosition { get; set; }

    /// <summary><c>tls</c>: terminate TLS on this listener.</summary>
    public LbTlsSection? Tls { get; set; }
}
