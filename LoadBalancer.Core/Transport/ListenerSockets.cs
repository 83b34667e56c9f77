using System.Net;
using System.Net.Sockets;
using LoadBalancer.Core.Transport.Epoll;

namespace LoadBalancer.Core.Transport;

/// <summary>
/// The listening sockets of one proxy listener. On the epoll engine, one socket per loop, all bound to the same address
/// with SO_REUSEPORT: each loop accepts its own share of the connections on its own thread and serves them there. On
/// .NET's engine, one socket and its accept loop (<see cref="SocketListener"/>). Binding happens in <see cref="Bind"/>,
/// so that a taken address fails a reload before anything changed; accepting starts with <see cref="Start"/>.
/// </summary>
internal sealed class ListenerSockets : IDisposable
{
    private readonly SocketListener? _shared;
    private readonly Socket[] _sockets;
    private readonly EpollLoop[] _loops;
    private LoopAcceptor[] _acceptors = [];
    private int _disposed;

    private ListenerSockets(SocketListener shared)
    {
        _shared = shared;
        _sockets = [];
        _loops = [];
        BoundEndPoint = shared.BoundEndPoint;
    }

    private ListenerSockets(Socket[] sockets, EpollLoop[] loops, IPEndPoint bound)
    {
        _sockets = sockets;
        _loops = loops;
        BoundEndPoint = bound;
    }

    /// <summary>The actual endpoint (the real port when configured with port 0).</summary>
    public IPEndPoint BoundEndPoint { get; }

    /// <summary>Listening sockets on this address: one per loop, or one on .NET's engine.</summary>
    public int SocketCount => _shared is null ? _sockets.Length : 1;

    /// <summary>Binds every socket now (port 0: the first one picks the port, the others join it). Throws when a bind fails.</summary>
    public static ListenerSockets Bind(Engine.SocketEngine engine, IPEndPoint endPoint, int backlog = 4096)
    {
        var loops = engine.Loops;
        if (loops.Length == 0)
        {
            return new ListenerSockets(SocketListener.Bind(endPoint, backlog));
        }

        var sockets = new List<Socket>(loops.Length);
        try
        {
            var bound = endPoint;
            foreach (var _ in loops)
            {
                var socket = BindReusePort(bound, backlog);
                sockets.Add(socket);
                bound = (IPEndPoint)socket.LocalEndPoint!;
            }

            return new ListenerSockets([.. sockets], loops, bound);
        }
        catch
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }

            throw;
        }
    }

    private static Socket BindReusePort(IPEndPoint endPoint, int backlog)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            EpollNative.SetReusePort(socket);
            if (endPoint.AddressFamily == AddressFamily.InterNetworkV6 && endPoint.Address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            // Accepted sockets inherit TCP_NODELAY from the listening one on Linux: one setsockopt per listener, not
            // per connection.
            SocketIo.Configure(socket);
            socket.Bind(endPoint);
            socket.Listen(backlog);
            EpollNative.SetNonBlocking(socket.SafeHandle);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Starts accepting; <paramref name="onAccepted"/> gets each connection, on the loop that serves it (epoll) or on the
    /// accept loop's thread (.NET's engine). It must not throw nor block. Returns the accept loop's task on .NET's
    /// engine, which ends when the socket closes; null with loops, which need no task.
    /// </summary>
    public Task? Start(Action<SocketChannel> onAccepted)
    {
        if (_shared is not null)
        {
            return _shared.AcceptLoopAsync(socket => onAccepted(SocketChannel.ForAccepted(socket, null)));
        }

        var acceptors = new LoopAcceptor[_sockets.Length];
        for (var i = 0; i < acceptors.Length; i++)
        {
            acceptors[i] = new LoopAcceptor(_sockets[i], _loops[i], onAccepted);
        }

        _acceptors = acceptors;
        foreach (var acceptor in acceptors)
        {
            acceptor.Start();
        }

        return null;
    }

    /// <summary>Closes every socket of the listener.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _shared?.Dispose();
        foreach (var acceptor in _acceptors)
        {
            acceptor.Close();
        }

        foreach (var socket in _sockets)
        {
            socket.Dispose();
        }
    }
}
