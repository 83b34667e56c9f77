using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using LoadBalancer.Core.Async;
using LoadBalancer.Core.Transport;

namespace LoadBalancer.Core.Tls;

/// <summary>
/// The TLS transport: an <see cref="IConnection"/> over a <see cref="SocketChannel"/>, so the connection class above it
/// runs unchanged over the decrypted bytes. Until <see cref="HandshakeAsync"/> succeeds it passes reads and writes
/// straight to the channel (the accept-time PROXY header before it, the plain-text 400 when a client speaks HTTP to
/// the port). After it, every operation goes through one <see cref="SslStream"/> over a <see cref="ChannelStream"/>
/// carrying the operation's <see cref="DeadlineTimer"/>. A zero-byte receive stays a zero-byte wait on the socket:
/// SslStream holds no buffer while it has nothing decrypted, so an idle TLS connection holds no buffer either.
/// </summary>
internal sealed partial class TlsConnection : IConnection
{
    private readonly SocketChannel _channel;
    private readonly ChannelStream _transport;
    private SslStream? _ssl;
    private int _closed;

    // SslStream may still hold decrypted bytes: its last read filled the caller's buffer.
    private bool _plaintextMayRemain;

    public TlsConnection(SocketChannel channel)
    {
        _channel = channel;
        _transport = new ChannelStream(channel);
    }

    public IPEndPoint? RemoteEndPoint => _channel.RemoteEndPoint;

    /// <summary>A zero-byte read is a second SslStream call per read (see <see cref="IConnection.CheapZeroByteReads"/>).</summary>
    public bool CheapZeroByteReads => false;

    /// <summary>The established stream (after a successful handshake), for its negotiated facts.</summary>
    public SslStream? Stream => _ssl;

    public ValueTask<int> ReceiveAsync(Memory<byte> buffer, DeadlineTimer? timer)
    {
        if (_ssl is not { } ssl)
        {
            return _channel.ReceiveAsync(buffer, timer);
        }

        if (buffer.IsEmpty)
        {
            return WaitForData(timer);
        }

        _transport.ReadTimer = timer;
        var read = ssl.ReadAsync(buffer);
        if (read.IsCompletedSuccessfully)
        {
            _plaintextMayRemain = read.Result == buffer.Length;
            return read;
        }

        return AwaitRead(read, buffer.Length);
    }

    /// <summary>
    /// The zero-byte wait (between keep-alive requests): on the socket itself when SslStream holds nothing, so no
    /// SslStream read is left pending for the idle time (it would allocate its state machine each time); at once when
    /// it does hold bytes, which the caller's next read then gets without waiting.
    /// </summary>
    private ValueTask<int> WaitForData(DeadlineTimer? timer)
        => _plaintextMayRemain || !_transport.HoldsNothing ? new ValueTask<int>(0) : _channel.ReceiveAsync(Memory<byte>.Empty, timer);

    public ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (_ssl is not { } ssl)
        {
            return _channel.ReceiveAsync(buffer, cancellationToken);
        }

        if (buffer.IsEmpty)
        {
            return _plaintextMayRemain || !_transport.HoldsNothing ? new ValueTask<int>(0) : _channel.ReceiveAsync(Memory<byte>.Empty, cancellationToken);
        }

        _transport.ReadTimer = null;
        var read = ssl.ReadAsync(buffer, cancellationToken);
        if (read.IsCompletedSuccessfully)
        {
            _plaintextMayRemain = read.Result == buffer.Length;
            return read;
        }

        return AwaitRead(read, buffer.Length);
    }

    public ValueTask SendAsync(ReadOnlyMemory<byte> data, DeadlineTimer? timer)
    {
        if (_ssl is not { } ssl)
        {
            return _channel.SendAsync(data, timer);
        }

        _transport.WriteTimer = timer;
        var write = ssl.WriteAsync(data);
        return write.IsCompletedSuccessfully ? write : AwaitWrite(write);
    }

    /// <summary>
    /// SslStream reports a failed transport read as an IOException around it; a fired timer (OperationCanceledException)
    /// is given back as itself, so the connection sorts a TLS timeout exactly like a plaintext one.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<int> AwaitRead(ValueTask<int> read, int length)
    {
        try
        {
            var count = await read.ConfigureAwait(false);
            _plaintextMayRemain = count == length;
            return count;
        }
        catch (IOException e) when (e.InnerException is OperationCanceledException canceled)
        {
            ExceptionDispatchInfo.Throw(canceled);
            throw;
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private static async ValueTask AwaitWrite(ValueTask write)
    {
        try
        {
            await write.ConfigureAwait(false);
        }
        catch (IOException e) when (e.InnerException is OperationCanceledException canceled)
        {
            ExceptionDispatchInfo.Throw(canceled);
            throw;
        }
    }

    /// <summary>Half-closes the socket; no close_notify (a tunnel's half-close must not end TLS for the other direction's reads).</summary>
    public void Shutdown(SocketShutdown how) => _channel.Shutdown(how);

    /// <summary>Resets the socket, which fails what SslStream has pending; the stream itself is released by <see cref="CloseGracefully"/>.</summary>
    public void Abort() => _channel.Abort();

    /// <summary>
    /// Sends close_notify when it fits in the socket buffer at once (it nearly always does; a client that stopped
    /// reading does not get to hold the connection open), then FIN, then releases the TLS state. Never throws.
    /// </summary>
    public void CloseGracefully()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        if (_ssl is { } ssl)
        {
            try
            {
                _transport.WriteTimer = null;
                var shutdown = ssl.ShutdownAsync();
                if (!shutdown.IsCompleted)
                {
                    // Still queued: the socket is full. Reset instead of waiting on a client that does not read.
                    _channel.Abort();
                }

                shutdown.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException or NotSupportedException or System.Security.Authentication.AuthenticationException)
            {
                // Best effort: the peer may be gone already.
            }
        }

        _channel.CloseGracefully();
        _ssl?.Dispose();
        _transport.Dispose();
    }
}
