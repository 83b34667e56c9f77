using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using LoadBalancer.Core.Routing;

namespace LoadBalancer.Core.Transport;

/// <summary>A keep-alive connection to one backend, owned by one session at a time or idle in its backend's pool.</summary>
internal sealed class BackendConnection : IDisposable, IIdleReadWatcher
{
    internal BackendConnection(BackendState backend, SocketChannel channel, Tls.TlsConnection? tls = null)
    {
        Backend = backend;
        Channel = channel;
        Tls = tls;
        Transport = tls ?? (IConnection)channel;
        // Up to 64 KiB per receive: big response bodies move in few syscalls (measured: 576 -> 1944 MB/s at 64 KiB).
        Reader = new SocketReader(Transport, segmentSize: 64 * 1024, zeroByteReads: false);
    }

    /// <summary>What requests and tunnels read and write: the channel, or TLS over it for a pool with <c>tls</c>.</summary>
    public IConnection Transport { get; }

    /// <summary>The TLS transport, when the pool speaks TLS.</summary>
    public Tls.TlsConnection? Tls { get; }

    public BackendState Backend { get; }

    /// <summary>
    /// The request's Host it was handshaken for (a <c>tls</c> pool without <c>sni</c>, IP-literal backend), or null. A
    /// connection is only reused for a request of the same name: its certificate was checked against that name only.
    /// </summary>
    public string? TlsHost { get; set; }

    /// <summary>Whether a request whose TLS name is <paramref name="host"/> (empty: none) may be sent on this connection.</summary>
    public bool ServesTlsHost(ReadOnlySpan<byte> host)
        => TlsHost is null ? host.IsEmpty : System.Text.Ascii.EqualsIgnoreCase(host, TlsHost);

    public SocketChannel Channel { get; }

    public Socket Socket => Channel.Socket;

    public SocketReader Reader { get; }

    /// <summary>True once it served a request: a failure before any response byte may then be a stale keep-alive.</summary>
    public bool Reused { get; set; }

    /// <summary>When it went idle, in <see cref="Environment.TickCount64"/> ms.</summary>
    public long IdleSinceTicks { get; set; }

    /// <summary>
    /// The in-flight count its current request holds on <see cref="Backend"/> (<see cref="BackendState.EnterInFlight"/>'s
    /// token), set by whoever hands the connection to a request; <see cref="ExitInFlight"/> gives it back.
    /// </summary>
    internal int InFlightToken { get; set; }

    /// <summary>Ends the current request's in-flight count on the backend.</summary>
    internal void ExitInFlight() => Backend.ExitInFlight(InFlightToken);

    /// <summary>The pool slot it idles in, or -1; lets the idle watcher take it out without a scan.</summary>
    internal int PoolSlot { get; set; } = -1;

    /// <summary>
    /// An idle keep-alive connection that has anything to read was closed by the backend (or sent garbage):
    /// either way it must not carry a request. One non-blocking poll, no data consumed.
    /// </summary>
    public bool LooksAlive() => !Channel.PollReadable();

    /// <summary>
    /// Why a connection that turned readable must go: bytes from the backend (beyond the response just relayed, or
    /// sent while it idled with no request outstanding), or its close.
    /// </summary>
    public DiscardReason ReadableReason(bool idle)
    {
        try
        {
            return Socket.Available == 0 ? DiscardReason.BackendClosed : idle ? DiscardReason.UnsolicitedData : DiscardReason.UnreadBytes;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            return DiscardReason.BackendClosed;
        }
    }

    /// <summary>Closes the connection instead of keeping it, counted by <paramref name="reason"/>.</summary>
    public void Discard(DiscardReason reason)
    {
        Backend.CountDiscarded(reason);
        Dispose();
    }

    void IIdleReadWatcher.OnReadableWhileIdle()
    {
        // On the loop thread: the backend sent something (or closed) while no request was outstanding. Whatever it
        // is can answer no request, so the connection leaves the pool now, not when the next request rents it.
        if (Backend.IdleConnections.TryTake(this))
        {
            Discard(ReadableReason(idle: true));
        }
    }

    /// <summary>Sends the PROXY header that tells the backend who the client is; false when the backend is gone.</summary>
    public async ValueTask<bool> SendProxyProtocolHeaderAsync(ProxyProtocolVersion version, IPEndPoint? client, CancellationToken cancellationToken, DeadlineTimer? timer = null)
    {
        var header = ArrayPool<byte>.Shared.Rent(ProxyProtocolCodec.MaxWriteLength + 64);
        try
        {
            var source = client ?? new IPEndPoint(IPAddress.Loopback, 0);
            var target = Backend.Config.EndPoint;
            var length = version == ProxyProtocolVersion.V1
                ? ProxyProtocolCodec.WriteV1(header, source, target)
                : ProxyProtocolCodec.WriteV2(header, source, target);
            var data = header.AsMemory(0, length);
            await (timer is null ? Channel.SendAsync(data, cancellationToken) : Channel.SendAsync(data, timer)).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(header);
        }
    }

    public void Dispose()
    {
        Reader.Complete();
        Transport.CloseGracefully();
    }
}
