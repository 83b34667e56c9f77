using System.Security.Authentication;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tls;

namespace LoadBalancer.Core.Config;

/// <summary>A listener's TLS: certificates loaded by the validator, their contexts built here, once per snapshot.</summary>
internal static partial class SnapshotCompiler
{
    /// <summary>What <c>handshake_timeout</c> is when not set.</summary>
    internal static readonly TimeSpan DefaultHandshakeTimeout = TimeSpan.FromSeconds(10);

    /// <remarks>
    /// Files are re-read on every load; a listener whose TLS settings and file contents are all unchanged keeps the
    /// previous snapshot's <see cref="ListenerTls"/> (its certificate contexts and server options), and with them
    /// OpenSSL's session cache, so clients still resume across a reload. Handshake counts always carry over by name.
    /// </remarks>
    private static ListenerTls? CompileTls(LbListenerSection listener, RuntimeSnapshot? previous)
    {
        if (listener.Tls is not { } tls)
        {
            return null;
        }

        ListenerTls? old = null;
        if (previous is not null)
        {
            foreach (var candidate in previous.Listeners)
            {
                if (candidate.Name == listener.Name!.Value)
                {
                    old = candidate.Tls;
                }
            }
        }

        var certificates = new TlsCertificate[tls.Certificates!.Count];
        for (var i = 0; i < certificates.Length; i++)
        {
            certificates[i] = tls.Certificates[i].Loaded!;
        }

        var protocols = tls.MinVersion?.Value == "1.3" ? SslProtocols.Tls13 : SslProtocols.Tls12 | SslProtocols.Tls13;
        var strictSni = tls.StrictSni?.Value ?? false;
        var handshakeTimeout = Duration(tls.HandshakeTimeout, DefaultHandshakeTimeout);
        var required = tls.ClientAuthRequired?.Value ?? true;
        var tunnel = string.Equals(listener.Protocol?.Value, "tcp", StringComparison.Ordinal);
        var http2 = !tunnel && Http2Enabled(listener);
        if (old is not null
            && old.Tunnel == tunnel
            && old.Protocols == protocols
            && old.StrictSni == strictSni
            && old.HandshakeTimeout == handshakeTimeout
            && old.Http2 == http2
            && SameCertificates(old.Certificates, certificates)
            && SameClientAuth(old, tls, required))
        {
            return old;
        }

        // Unchanged files keep their loaded certificate (and its chain context) even when other settings changed.
        for (var i = 0; i < certificates.Length; i++)
        {
            foreach (var kept in old?.Certificates ?? [])
            {
                if (SameFiles(kept, certificates[i]))
                {
                    certificates[i] = kept;
                    break;
                }
            }
        }

        var clientAuth = tls.LoadedClientCa is { } ca ? new TlsClientAuth(ca, required, tls.ClientCaHash!, tls.ClientCaFile!) : null;
        return new ListenerTls(certificates, protocols, strictSni, handshakeTimeout, clientAuth, http2, old?.Counters ?? new TlsHandshakeCounters(), tunnel);
    }

    private static bool SameCertificates(TlsCertificate[] old, TlsCertificate[] loaded)
    {
        if (old.Length != loaded.Length)
        {
            return false;
        }

        for (var i = 0; i < old.Length; i++)
        {
            if (!SameFiles(old[i], loaded[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static bool SameFiles(TlsCertificate a, TlsCertificate b)
        => a.CertFile == b.CertFile && a.KeyFile == b.KeyFile && a.ContentHash.AsSpan().SequenceEqual(b.ContentHash);

    private static bool SameClientAuth(ListenerTls old, LbTlsSection tls, bool required)
        => old.ClientAuth is null
            ? tls.ClientCaHash is null
            : tls.ClientCaHash is { } hash && old.ClientAuth.Required == required && old.ClientAuth.ContentHash.AsSpan().SequenceEqual(hash);
}
