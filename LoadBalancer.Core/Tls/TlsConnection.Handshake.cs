using System.Net.Security;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Authentication;
using LoadBalancer.Core.Transport;

namespace LoadBalancer.Core.Tls;

internal sealed partial class TlsConnection
{
    private static readonly ServerOptionsSelectionCallback SelectOptions = static (_, hello, state, _) =>
    {
        var connection = (TlsConnection)state!;
        var served = connection._settings!.Select(hello.ServerName, connection._offersEcdsa);
        if (served is null)
        {
            connection._noCertificate = true;
            throw new AuthenticationException("no certificate for the requested server name (strict_sni)");
        }

        connection._served = served;
        connection._serverName = hello.ServerName;
        return ValueTask.FromResult(served.Options);
    };

    private ListenerTls? _settings;
    private TlsServedCertificate? _served;
    private string? _serverName;
    private bool _offersEcdsa;
    private bool _noCertificate;

    /// <summary>True once the handshake chose HTTP/2 by ALPN: the connection opens with the HTTP/2 preface.</summary>
    public bool NegotiatedHttp2 => _ssl is { } ssl && ssl.NegotiatedApplicationProtocol == SslApplicationProtocol.Http2;

    /// <summary>
    /// Whether this connection may answer for <paramref name="authority"/> (a host, with or without a port): the
    /// served certificate covers it, or it is the name the client sent in SNI and so accepted the certificate for
    /// (a default certificate under <c>strict_sni = false</c>). An IP literal passes on a connection without SNI: its
    /// client connected by address, and coalescing (the reason for 421, RFC 9110 section 7.4) happens by name.
    /// </summary>
    public bool MayServe(ReadOnlySpan<byte> authority)
    {
        if (_served is not { } served)
        {
            return true;
        }

        var host = TlsNames.HostOf(authority);
        if (TlsNames.Covers(served.Certificate.Names, host)
            || (_serverName is { } sni && System.Text.Ascii.EqualsIgnoreCase(host, sni)))
        {
            return true;
        }

        return string.IsNullOrEmpty(_serverName) && TlsNames.IsAddressLiteral(host);
    }

    /// <summary>The <see cref="ClientCertificateHeaders"/> lines of the verified client certificate; empty without one.</summary>
    public ReadOnlyMemory<byte> ClientCertificateLines { get; private set; }

    /// <summary>True when the first bytes were not TLS (the caller answers 400 in plain text, then closes).</summary>
    public bool SawPlainText { get; private set; }

    /// <summary>
    /// Reads the first record (bounded by <paramref name="timer"/>, already armed with handshake_timeout), then runs the
    /// handshake with the certificate the SNI selects. <paramref name="buffered"/> are bytes a step before already read
    /// (after a PROXY header). Never throws for the client's failures: they come back as the result.
    /// </summary>
    public async ValueTask<TlsHandshakeResult> HandshakeAsync(ListenerTls settings, DeadlineTimer timer, byte[]? buffered)
    {
        _settings = settings;
        // A ClientHello fits 4 KiB nearly always (post-quantum key shares included); a larger one grows the buffer.
        var peek = EngineBuffers.Rent(Math.Max(EngineBuffers.SmallSize, buffered?.Length ?? 0));
        var filled = 0;
        try
        {
            if (buffered is not null)
            {
                filled = Math.Min(buffered.Length, peek.Length);
                buffered.AsSpan(0, filled).CopyTo(peek);
            }

            while (true)
            {
                var status = ClientHelloPeek.Inspect(peek.AsSpan(0, filled), out _offersEcdsa);
                if (status == ClientHelloPeek.Status.NotTls)
                {
                    SawPlainText = true;
                    return TlsHandshakeResult.Failed;
                }

                if (status == ClientHelloPeek.Status.Complete || filled >= ClientHelloPeek.MaxRecord)
                {
                    break;
                }

                if (filled == peek.Length)
                {
                    var larger = EngineBuffers.Rent(ClientHelloPeek.MaxRecord);
                    peek.AsSpan(0, filled).CopyTo(larger);
                    EngineBuffers.Return(peek);
                    peek = larger;
                }

                var received = await _channel.ReceiveAsync(peek.AsMemory(filled), timer).ConfigureAwait(false);
                if (received == 0)
                {
                    return TlsHandshakeResult.Failed;
                }

                filled += received;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            EngineBuffers.Return(peek);
            return timer.IsCancellationRequested ? TlsHandshakeResult.Timeout : TlsHandshakeResult.Failed;
        }
        catch
        {
            EngineBuffers.Return(peek);
            throw;
        }

        // The stream owns the peeked bytes from here, and returns the buffer once SslStream has read them.
        _transport.SetPrefix(peek, filled);
        _transport.ReadTimer = timer;
        _transport.WriteTimer = timer;
        var ssl = new SslStream(_transport, leaveInnerStreamOpen: true);
        try
        {
            await ssl.AuthenticateAsServerAsync(SelectOptions, this, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException or System.Net.Sockets.SocketException or ObjectDisposedException or InvalidOperationException)
        {
            ssl.Dispose();
            return timer.IsCancellationRequested ? TlsHandshakeResult.Timeout
                : _noCertificate ? TlsHandshakeResult.NoCertificate
                : TlsHandshakeResult.Failed;
        }

        if (!ListenerTls.Allows(ssl.NegotiatedCipherSuite))
        {
            // A client with none of the intermediate suites (see ListenerTls.Suites): refused like a failed handshake.
            ssl.Dispose();
            return TlsHandshakeResult.Failed;
        }

        _ssl = ssl;
        if (settings.ClientAuth is not null && ssl.RemoteCertificate is { } client)
        {
            // Verified by the handshake (TlsClientAuth.Validate); a client that sent none (required = false) gets no lines.
            ClientCertificateLines = ClientCertificateHeaders.Lines(client as System.Security.Cryptography.X509Certificates.X509Certificate2 ?? new System.Security.Cryptography.X509Certificates.X509Certificate2(client));
        }

        var reused = false;
        WithHandle(ssl, handle =>
        {
            ReleaseBuffersWhenIdle(handle);
            reused = TlsNative.SSL_session_reused(handle) == 1;
        });
        return reused ? TlsHandshakeResult.Resumed : TlsHandshakeResult.Ok;
    }

    /// <summary>
    /// The client side, to a backend: the handshake with the pool's options, bounded by <paramref name="timer"/> (armed
    /// with the connect timeout). Null when established, else the reason (a failed verification names its errors).
    /// </summary>
    public async ValueTask<string?> AuthenticateAsClientAsync(SslClientAuthenticationOptions options, DeadlineTimer timer)
    {
        _transport.ReadTimer = timer;
        _transport.WriteTimer = timer;
        var ssl = new SslStream(_transport, leaveInnerStreamOpen: true);
        try
        {
            await ssl.AuthenticateAsClientAsync(options, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException or System.Net.Sockets.SocketException or ObjectDisposedException or InvalidOperationException)
        {
            ssl.Dispose();
            return timer.IsCancellationRequested ? "timed out (timeouts.connect)" : e.InnerException is { } inner ? $"{e.Message} ({inner.Message})" : e.Message;
        }

        _ssl = ssl;
        WithHandle(ssl, ReleaseBuffersWhenIdle);
        return null;
    }

    // SslStream does not say whether OpenSSL resumed the session, nor let one set a mode; its handle does
    // (SSL_session_reused, SSL_set_mode). The field is .NET's own, so it is looked up once, and any surprise (another
    // runtime, another platform) reads as a full handshake with .NET's default modes.
    private static readonly FieldInfo? SecurityContextField = typeof(SslStream).GetField("_securityContext", BindingFlags.Instance | BindingFlags.NonPublic);
    private static bool s_reuseUnknown = !OperatingSystem.IsLinux();

    /// <summary>
    /// Runs <paramref name="use"/> with the stream's OpenSSL SSL*, held against release; does nothing when it cannot be
    /// found (another runtime or platform). Once per handshake, so the closure is no concern.
    /// </summary>
    private static void WithHandle(SslStream ssl, Action<IntPtr> use)
    {
        if (s_reuseUnknown || SecurityContextField is null)
        {
            return;
        }

        try
        {
            if (SecurityContextField.GetValue(ssl) is SafeHandle { IsInvalid: false, IsClosed: false } handle)
            {
                var added = false;
                try
                {
                    handle.DangerousAddRef(ref added);
                    use(handle.DangerousGetHandle());
                }
                finally
                {
                    if (added)
                    {
                        handle.DangerousRelease();
                    }
                }
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or FieldAccessException or ArgumentException)
        {
            s_reuseUnknown = true;
        }
    }

    /// <summary>
    /// An idle keep-alive TLS connection otherwise keeps OpenSSL's record buffers (about 17 KiB); HAProxy releases
    /// them the same way. Their reallocation per record is what a busy connection pays for it.
    /// </summary>
    private static void ReleaseBuffersWhenIdle(IntPtr ssl) => TlsNative.SSL_ctrl(ssl, TlsNative.SslCtrlMode, TlsNative.SslModeReleaseBuffers, IntPtr.Zero);
}
