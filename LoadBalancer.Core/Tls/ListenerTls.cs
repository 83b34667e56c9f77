using System.Collections.Frozen;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace LoadBalancer.Core.Tls;

/// <summary>
/// A listener's TLS as compiled into one snapshot: its certificates with their server options, and the SNI lookup
/// over them. Immutable; a connection reads it once at accept and keeps the certificate it got across reloads.
/// Selection (<see cref="Select"/>): the exact name, then a <c>*.</c> wildcard one label deep; for a name with both an
/// ECDSA and an RSA certificate, ECDSA when the client offers an ECDSA signature scheme; with no match (or no SNI) the
/// first certificate, or none under <c>strict_sni</c>.
/// </summary>
public sealed class ListenerTls
{
    /// <summary>
    /// Mozilla "intermediate": the TLS 1.3 suites, and ECDHE with AEAD for TLS 1.2. Enforced after the handshake
    /// (<see cref="Allows"/>), not through a CipherSuitesPolicy: .NET does not cache the OpenSSL context of options
    /// with a policy, and without that cache no session is ever resumed. OpenSSL's default order puts these suites
    /// first, so only a client that supports none of them negotiates another, and that handshake counts as failed.
    /// </summary>
    private static readonly TlsCipherSuite[] Suites =
    [
        TlsCipherSuite.TLS_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ];

    /// <summary>Whether a negotiated suite is one of the "intermediate" ones.</summary>
    internal static bool Allows(TlsCipherSuite suite) => Array.IndexOf(Suites, suite) >= 0;

    private static readonly List<SslApplicationProtocol> Http11Only = [SslApplicationProtocol.Http11];

    // h2 first: a client that offers both gets HTTP/2 (RFC 7301 leaves the choice to the server).
    private static readonly List<SslApplicationProtocol> Http2First = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11];

    private readonly FrozenDictionary<string, Choice> _exact;
    private readonly FrozenDictionary<string, Choice> _wildcard;
    private readonly Choice _default;

    internal ListenerTls(
        TlsCertificate[] certificates,
        SslProtocols protocols,
        bool strictSni,
        TimeSpan handshakeTimeout,
        TlsClientAuth? clientAuth,
        bool http2,
        TlsHandshakeCounters counters,
        bool tunnel = false)
    {
        Http2 = http2;
        Tunnel = tunnel;
        Certificates = certificates;
        Protocols = protocols;
        StrictSni = strictSni;
        HandshakeTimeout = handshakeTimeout;
        ClientAuth = clientAuth;
        Counters = counters;

        var options = new TlsServedCertificate[certificates.Length];
        for (var i = 0; i < certificates.Length; i++)
        {
            options[i] = new TlsServedCertificate(CreateOptions(certificates[i], protocols, clientAuth, tunnel ? null : http2 ? Http2First : Http11Only), certificates[i]);
        }

        var exact = new Dictionary<string, Choice>(StringComparer.OrdinalIgnoreCase);
        var wildcard = new Dictionary<string, Choice>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < certificates.Length; i++)
        {
            foreach (var name in certificates[i].Names)
            {
                var table = name.StartsWith("*.", StringComparison.Ordinal) ? wildcard : exact;
                var key = table == wildcard ? name[2..] : name;
                table[key] = table.TryGetValue(key, out var existing) ? existing.With(options[i], certificates[i].IsEcdsa) : Choice.Of(options[i], certificates[i].IsEcdsa);
            }
        }

        _exact = exact.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        _wildcard = wildcard.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        _default = Choice.Of(options[0], certificates[0].IsEcdsa);
    }

    internal TlsCertificate[] Certificates { get; }

    public SslProtocols Protocols { get; }

    public bool StrictSni { get; }

    public TimeSpan HandshakeTimeout { get; }

    /// <summary>Whether ALPN offers <c>h2</c> (the listener's <c>http2</c>), before <c>http/1.1</c>.</summary>
    public bool Http2 { get; }

    /// <summary>A tcp listener's: the decrypted bytes are pumped as they are, so no ALPN protocol is offered or chosen.</summary>
    public bool Tunnel { get; }

    internal TlsClientAuth? ClientAuth { get; }

    /// <summary>Live counts, carried across reloads by listener name.</summary>
    public TlsHandshakeCounters Counters { get; }

    /// <summary>The certificate for <paramref name="serverName"/> (null or empty: no SNI), or null when strict_sni finds none.</summary>
    internal TlsServedCertificate? Select(string? serverName, bool offersEcdsa)
    {
        if (!string.IsNullOrEmpty(serverName))
        {
            if (_exact.TryGetValue(serverName, out var exact))
            {
                return exact.Pick(offersEcdsa);
            }

            var dot = serverName.IndexOf('.');
            if (dot > 0 && _wildcard.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(serverName.AsSpan(dot + 1), out var wildcard))
            {
                return wildcard.Pick(offersEcdsa);
            }
        }

        return StrictSni ? null : _default.Pick(offersEcdsa);
    }

    /// <summary>Whether some certificate covers <paramref name="host"/> (exact or one-label wildcard); for lb check's warnings.</summary>
    internal bool Covers(string host)
    {
        if (_exact.ContainsKey(host))
        {
            return true;
        }

        var dot = host.IndexOf('.');
        return dot > 0 && _wildcard.ContainsKey(host[(dot + 1)..]);
    }

    private static SslServerAuthenticationOptions CreateOptions(TlsCertificate certificate, SslProtocols protocols, TlsClientAuth? clientAuth, List<SslApplicationProtocol>? alpn)
    {
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = certificate.Context,
            EnabledSslProtocols = protocols,
            ApplicationProtocols = alpn,
            AllowRenegotiation = false,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        };
        if (clientAuth is not null)
        {
            options.ClientCertificateRequired = true;
            options.CertificateChainPolicy = clientAuth.ChainPolicy;
            options.RemoteCertificateValidationCallback = clientAuth.Validate;
        }

        return options;
    }

    /// <summary>The certificate(s) for one name: an ECDSA and an RSA one may share it.</summary>
    private readonly record struct Choice(TlsServedCertificate? Ecdsa, TlsServedCertificate? Rsa)
    {
        public static Choice Of(TlsServedCertificate options, bool isEcdsa) => isEcdsa ? new(options, null) : new(null, options);

        /// <summary>The first certificate of each kind for a name wins, as for the default.</summary>
        public Choice With(TlsServedCertificate options, bool isEcdsa)
            => isEcdsa ? this with { Ecdsa = Ecdsa ?? options } : this with { Rsa = Rsa ?? options };

        public TlsServedCertificate Pick(bool offersEcdsa)
            => (offersEcdsa ? Ecdsa ?? Rsa : Rsa ?? Ecdsa)!;
    }
}
