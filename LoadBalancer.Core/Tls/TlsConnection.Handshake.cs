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
        var options = connection._settings!.Select(hello.ServerName, connection._offersEcdsa);
        if (options is null)
        {
            connection._noCertificate = true;
            throw new AuthenticationException("no certificate for the requested server name (strict_sni)");
        }

        return ValueTask.FromResult(options);
    };

    private ListenerTls? _settings;
    private bool _offersEcdsa;
    private bool _noCertificate;

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
        var peek = EngineBuffers.Rent(ClientHelloPeek.MaxRecord);
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

                if (status == ClientHelloPeek.Status.Complete || filled == peek.Length)
                {
                    break;
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
        return SessionReused(ssl) ? TlsHandshakeResult.Resumed : TlsHandshakeResult.Ok;
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
        return null;
    }

    // SslStream does not say whether OpenSSL resumed the session; its handle does (SSL_session_reused). The field is
    // .NET's own, so it is looked up once, and any surprise (another runtime, another platform) reads as a full handshake.
    private static readonly FieldInfo? SecurityContextField = typeof(SslStream).GetField("_securityContext", BindingFlags.Instance | BindingFlags.NonPublic);
    private static bool s_reuseUnknown = !OperatingSystem.IsLinux();

    private static bool SessionReused(SslStream ssl)
    {
        if (s_reuseUnknown || SecurityContextField is null)
        {
            return false;
        }

        try
        {
            if (SecurityContextField.GetValue(ssl) is SafeHandle { IsInvalid: false, IsClosed: false } handle)
            {
                var added = false;
                try
                {
                    handle.DangerousAddRef(ref added);
                    return TlsNative.SSL_session_reused(handle.DangerousGetHandle()) == 1;
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

        return false;
    }
}
