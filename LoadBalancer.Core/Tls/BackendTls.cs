using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace LoadBalancer.Core.Tls;

/// <summary>
/// A pool's <c>tls</c> as compiled into one snapshot: the client options every new backend connection of the pool
/// handshakes with (built once per snapshot; .NET keeps the client TLS sessions per target name, so reconnects
/// resume). The name checked and sent as SNI is <c>sni</c>, else the name a backend was resolved from
/// (<c>address = "api.internal:8443"</c>), else the request's Host without its port (an IP literal Host is checked
/// against the certificate's IP addresses, no SNI sent), else (no Host: a tunnel, a health check) the backend's address. Verification is on unless <c>verify = false</c>:
/// against the system roots, or only <c>ca</c> when given. A failure is a failed connect, never a fallback.
/// </summary>
public sealed class BackendTls
{
    internal BackendTls(string? sni, bool verify, X509Certificate2Collection? authorities, byte[]? authoritiesHash, TlsCertificate? clientCertificate, Routing.BackendState[] backends, string[]? hostNames = null, bool http2 = false)
    {
        _key = $"{sni}|{verify}|{http2}|{(authoritiesHash is null ? "" : Convert.ToHexString(authoritiesHash))}|{(clientCertificate is null ? "" : Convert.ToHexString(clientCertificate.ContentHash))}";
        Sni = sni;
        Verify = verify;
        ClientCertificate = clientCertificate;
        X509ChainPolicy? policy = null;
        if (verify && authorities is not null)
        {
            policy = new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust,
                RevocationMode = X509RevocationMode.NoCheck,
                DisableCertificateDownloads = true,
            };
            policy.CustomTrustStore.AddRange(authorities);
        }

        Options = new SslClientAuthenticationOptions
        {
            TargetHost = sni ?? "",
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            // An h2 pool offers only h2: a backend that picks http/1.1 (or nothing) fails the connect, never a fallback.
            ApplicationProtocols = [http2 ? SslApplicationProtocol.Http2 : SslApplicationProtocol.Http11],
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            CertificateChainPolicy = policy,
            ClientCertificateContext = clientCertificate is null ? null : SslStreamCertificateContext.Create(clientCertificate.Leaf, clientCertificate.Intermediates, offline: true),
            RemoteCertificateValidationCallback = verify ? null : static (_, _, _, _) => true,
        };

        // Without sni, each backend is checked against its own address: one options object per backend, made here.
        _perBackend = new Dictionary<Routing.BackendState, SslClientAuthenticationOptions>(ReferenceEqualityComparer.Instance);
        if (sni is null)
        {
            foreach (var backend in backends)
            {
                _perBackend[backend] = CopyFor(backend.Config.EndPoint.Address.ToString());
            }

            // Backends resolved from a name come and go with DNS answers, so they are keyed by the name, known now.
            foreach (var host in hostNames ?? [])
            {
                _perHost[host] = CopyFor(host);
            }
        }
    }

    private readonly Dictionary<Routing.BackendState, SslClientAuthenticationOptions> _perBackend;
    private readonly Dictionary<string, SslClientAuthenticationOptions> _perHost = new(StringComparer.Ordinal);

    // What the settings are (sni, verify, the files' contents): equal for an unchanged reload, so a pool's health
    // checks (whose settings carry this) are not restarted by it.
    private readonly string _key;

    public override bool Equals(object? obj) => obj is BackendTls other && other._key == _key;

    public override int GetHashCode() => _key.GetHashCode(StringComparison.Ordinal);

    /// <summary>Options for a health check of <paramref name="endPoint"/> (off the data path: may allocate).</summary>
    internal SslClientAuthenticationOptions ForProbe(System.Net.IPEndPoint endPoint, string? hostName = null) => Sni is null ? CopyFor(hostName ?? endPoint.Address.ToString()) : Options;

    public string? Sni { get; }

    /// <summary>The <c>ca</c> file, resolved (for the reload's file hash).</summary>
    internal string? CaFile { get; init; }

    public bool Verify { get; }

    internal TlsCertificate? ClientCertificate { get; }

    internal SslClientAuthenticationOptions Options { get; }

    /// <summary>
    /// Options for one new connection: the pool's (<c>sni</c>), else the backend's host name's, else a copy naming
    /// <paramref name="requestHost"/> (the request's Host, without port; <paramref name="hostName"/> is then that name,
    /// which the connection keeps so it only serves requests for it), else the backend's address when there is no Host.
    /// The copy is made per new connection (a handshake allocates far more): a cache keyed by what clients send would grow without bound.
    /// </summary>
    internal SslClientAuthenticationOptions For(Routing.BackendState backend, ReadOnlySpan<byte> requestHost, out string? hostName)
    {
        hostName = null;
        if (Sni is not null)
        {
            return Options;
        }

        if (backend.Config.HostName is { } host && _perHost.TryGetValue(host, out var named))
        {
            return named;
        }

        if (!requestHost.IsEmpty)
        {
            hostName = System.Text.Encoding.ASCII.GetString(requestHost).ToLowerInvariant();
            return CopyFor(hostName);
        }

        return _perBackend.TryGetValue(backend, out var own) ? own : Options;
    }

    private SslClientAuthenticationOptions CopyFor(string host) => new()
    {
        TargetHost = host,
        EnabledSslProtocols = Options.EnabledSslProtocols,
        ApplicationProtocols = Options.ApplicationProtocols,
        CertificateRevocationCheckMode = Options.CertificateRevocationCheckMode,
        CertificateChainPolicy = Options.CertificateChainPolicy,
        ClientCertificateContext = Options.ClientCertificateContext,
        RemoteCertificateValidationCallback = Options.RemoteCertificateValidationCallback,
    };
}
