using System.Net;
using System.Net.Sockets;

namespace LoadBalancer.Core.Transport;

/// <summary>
/// The transport seam: a connected byte stream, as every layer above Transport sees a connection. A
/// <see cref="SocketChannel"/> is one today; a TLS stream over a channel is the next (same session code above it).
/// Operations are bounded by a <see cref="DeadlineTimer"/> (null: unbounded, for tunnels); one reader and one writer
/// at a time; <see cref="Abort"/> and <see cref="CloseGracefully"/> may come from any thread and fail what is pending.
/// </summary>
internal interface IConnection
{
    /// <summary>Receives into <paramref name="buffer"/>; 0 means the peer closed. An empty buffer only waits until readable.</summary>
    ValueTask<int> ReceiveAsync(Memory<byte> buffer, DeadlineTimer? timer);

    ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken);

    /// <summary>Sends all of <paramref name="data"/>.</summary>
    ValueTask SendAsync(ReadOnlyMemory<byte> data, DeadlineTimer? timer);

    void Shutdown(SocketShutdown how);

    /// <summary>Resets the connection. Never throws.</summary>
    void Abort();

    /// <summary>Sends FIN after what is queued, then closes. Never throws.</summary>
    void CloseGracefully();

    /// <summary>
    /// Whether a zero-byte receive before each read costs next to nothing (a socket: readiness bookkeeping). A TLS
    /// stream says no: there it is a second SslStream call per read, so <see cref="SocketReader"/> skips it before a
    /// receive; the idle wait between requests (<see cref="SocketReader.WaitForDataAsync"/>) stays a zero-byte wait.
    /// </summary>
    bool CheapZeroByteReads => true;

    /// <summary>The peer's address as the socket sees it (for the client, a PROXY header may say otherwise).</summary>
    IPEndPoint? RemoteEndPoint { get; }
}
