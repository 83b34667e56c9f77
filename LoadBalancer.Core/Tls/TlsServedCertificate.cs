using System.Net.Security;

namespace LoadBalancer.Core.Tls;

/// <summary>
/// A certificate as one listener serves it: the options a handshake is given, and the certificate whose names a
/// connection may then answer for (HTTP/2 streams for an authority it does not cover get 421, RFC 9110 section 7.4).
/// </summary>
internal sealed class TlsServedCertificate(SslServerAuthenticationOptions options, TlsCertificate certificate)
{
    public SslServerAuthenticationOptions Options { get; } = options;

    public TlsCertificate Certificate { get; } = certificate;
}
