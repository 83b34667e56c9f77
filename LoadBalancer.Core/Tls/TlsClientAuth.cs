using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace LoadBalancer.Core.Tls;

/// <summary>
/// A listener's <c>client_auth = { ca, required }</c>: lb asks every client for a certificate and accepts only chains
/// that end at one of <c>ca</c>'s certificates. With <c>required = false</c> a client may send none (and is served);
/// a certificate that does not verify fails the handshake either way.
/// </summary>
internal sealed class TlsClientAuth
{
    public TlsClientAuth(X509Certificate2Collection authorities, bool required, byte[] contentHash, string file)
    {
        File = file;
        Required = required;
        ContentHash = contentHash;
        ChainPolicy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };
        ChainPolicy.CustomTrustStore.AddRange(authorities);
        Validate = (_, certificate, _, errors) => errors == SslPolicyErrors.None
            || (!required && certificate is null && errors == SslPolicyErrors.RemoteCertificateNotAvailable);
    }

    public bool Required { get; }

    /// <summary>The <c>ca</c> file, resolved.</summary>
    public string File { get; }

    /// <summary>SHA-256 of the <c>ca</c> file as read: an unchanged file keeps the listener's TLS state on reload.</summary>
    public byte[] ContentHash { get; }

    public X509ChainPolicy ChainPolicy { get; }

    public RemoteCertificateValidationCallback Validate { get; }
}
