using System.Security.Cryptography.X509Certificates;
using LoadBalancer.Core.Tls;

namespace LoadBalancer.Core.Config;

internal sealed partial class LbPoolSection
{
    /// <summary><c>tls</c>: lb speaks TLS to this pool's backends.</summary>
    public LbPoolTlsSection? Tls { get; set; }
}

/// <summary>A pool's <c>tls = { sni, verify, ca, client_cert, client_key }</c>.</summary>
internal sealed class LbPoolTlsSection
{
    /// <summary>e.g. <c>pools[0].tls</c>.</summary>
    public required string Path { get; init; }

    public required SourcePosition Position { get; init; }

    public ConfigValue<string>? Sni { get; set; }

    public ConfigValue<bool>? Verify { get; set; }

    public ConfigValue<string>? Ca { get; set; }

    public ConfigValue<string>? ClientCert { get; set; }

    public ConfigValue<string>? ClientKey { get; set; }

    /// <summary>Read by the validator, for the compiler.</summary>
    public X509Certificate2Collection? LoadedCa { get; set; }

    public byte[]? CaHash { get; set; }

    public string? CaFile { get; set; }

    public TlsCertificate? LoadedClientCertificate { get; set; }
}
