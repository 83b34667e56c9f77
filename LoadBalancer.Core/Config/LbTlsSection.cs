using LoadBalancer.Core.Tls;

namespace LoadBalancer.Core.Config;

/// <summary>A listener's <c>tls = { certificates = [...], min_version, strict_sni, handshake_timeout, client_auth }</c>.</summary>
internal sealed class LbTlsSection
{
    /// <summary>e.g. <c>listeners[0].tls</c>.</summary>
    public required string Path { get; init; }

    public required SourcePosition Position { get; init; }

    public List<LbTlsCertificateEntry>? Certificates { get; set; }

    public SourcePosition CertificatesPosition { get; set; }

    public ConfigValue<string>? MinVersion { get; set; }

    public ConfigValue<bool>? StrictSni { get; set; }

    public ConfigValue<string>? HandshakeTimeout { get; set; }

    /// <summary>Set when <c>client_auth</c> is present.</summary>
    public SourcePosition? ClientAuthPosition { get; set; }

    public ConfigValue<string>? ClientAuthCa { get; set; }

    public ConfigValue<bool>? ClientAuthRequired { get; set; }

    /// <summary>The client CA certificates read by the validator, for the compiler.</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2Collection? LoadedClientCa { get; set; }

    /// <summary>The SHA-256 of the client CA file as read, so a reload notices a changed file.</summary>
    public byte[]? ClientCaHash { get; set; }

    /// <summary>The <c>ca</c> file, resolved against lb.toml's directory.</summary>
    public string? ClientCaFile { get; set; }
}

/// <summary>One <c>{ cert = "a.pem", key = "a.key" }</c> of a listener's <c>tls.certificates</c>.</summary>
internal sealed class LbTlsCertificateEntry
{
    public required string Path { get; init; }

    public required SourcePosition Position { get; init; }

    public ConfigValue<string>? Cert { get; set; }

    public ConfigValue<string>? Key { get; set; }

    /// <summary>The certificate as the validator loaded it (files read, key matched, dates checked), for the compiler.</summary>
    public TlsCertificate? Loaded { get; set; }
}
