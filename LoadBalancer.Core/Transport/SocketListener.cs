using System.Net;
using System.Net.Sockets;

namespace LoadBalancer.Core.Transport;

/// <summary>A bound, listening TCP socket and its accept loop; each accepted socket goes to a handler.</summary>
internal sealed class SocketListener : IDisposable
{
    private readonly Socket _socket;

    private SocketListener(Socket socket, IPEndPoint boundEndPoint)
    {
        _socket = socket;
        BoundEndPoint = boundEndPoint;
    }

    /// <summary>The actual endpoint (the real port when configured with port 0).</summary>
    public IPEndPoint BoundEndPoint { get; }

    /// <summary>Binds now, so that a port in use fails the caller (and rejects a reload) before anything changes.</summary>
    public static SocketListener Bind(IPEndPoint endPoint, int backlog = 4096)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            if (endPoint.AddressFamily == AddressFamily.InterNetworkV6 && endPoint.Address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            socket.Bind(endPoint);
            socket.Listen(backlog);
            return new SocketListener(socket, (IPEndPoint)socket.LocalEndPoint!);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Accepts until disposed. The handler must not throw and must not block.</summary>
    public async Task AcceptLoopAsync(Action<Socket> handler)
    {
        while (true)
        {
            Socket accepted;
            try
            {
                accepted = await _socket.AcceptAsync().ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.OperationAborted or SocketError.Interrupted)
            {
                return;
            }
            catch (SocketException)
            {
                // A connection reset while in the backlog (ECONNABORTED) or fd exhaustion: keep accepting the others.
                continue;
            }

            SocketIo.Configure(accepted);
            handler(accepted);
        }
    }

    public void Dispose() => _socket.Dispose();
}
