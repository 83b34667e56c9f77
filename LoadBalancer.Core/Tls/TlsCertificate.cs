using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace LoadBalancer.Core.Tls;

/// <summary>
/// One certificate of a listener (a chain and its key), loaded once per snapshot. Its
/// <see cref="SslStreamCertificateContext"/> (the chain, built once) and its <see cref="SslServerAuthenticationOptions"/>
/// are made by <see cref="ListenerTls"/> when the snapshot compiles, so a handshake only picks one of them. The same
/// options object on every handshake also keeps OpenSSL's session cache (resumption) across connections.
/// </summary>
internal sealed class TlsCertificate
{
    public required X509Certificate2 Leaf { get; init; }

    public required X509Certificate2Collection Intermediates { get; init; }

    /// <summary>DNS names from the SAN (lower case); the subject CN only when there is no SAN DNS name.</summary>
    public required string[] Names { get; init; }

    /// <summary>True for an ECDSA key, false for RSA.</summary>
    public required bool IsEcdsa { get; init; }

    /// <summary>SHA-256 over the certificate file and the key file as read: equal hashes reuse the loaded certificate on reload.</summary>
    public required byte[] ContentHash { get; init; }

    public required string CertFile { get; init; }

    public required string KeyFile { get; init; }

    public DateTime NotAfter => Leaf.NotAfter.ToUniversalTime();

    private SslStreamCertificateContext? _context;

    /// <summary>The chain as SslStream sends it; built on first use (at compile time), offline: lb fetches nothing.</summary>
    public SslStreamCertificateContext Context
        => _context ??= SslStreamCertificateContext.Create(Leaf, Intermediates, offline: true);
}
