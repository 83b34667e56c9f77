using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using LoadBalancer.Core.Transport.Epoll;

namespace LoadBalancer.Core.Transport;

/// <summary>
/// A connected TCP socket and the way lb waits on it. On Linux x86-64 the socket is non-blocking and registered with
/// an <see cref="EpollLoop"/>: reads and writes are plain syscalls, and only an operation that finds the socket drained
/// (or full) waits for the next readiness edge, without a syscall that is known to fail first. It also holds no
/// SocketAsyncEventArgs or .NET async context per connection, which is most of what an idle connection used to cost.
/// Elsewhere, or with <c>LB_SOCKET_ENGINE=dotnet</c>, every call goes to the socket's own async methods.
/// One reader and one writer at a time; <see cref="Dispose"/> may come from any thread and fails what is pending.
/// </summary>
internal sealed partial class SocketChannel : IConnection, IDisposable
{
    private readonly EpollLoop? _loop;
    private int _disposed;

    private Socket? _socket;

    private SocketChannel(Socket socket, EpollLoop? loop, bool accepted = false, bool connecting = false)
        : this(socket.SafeHandle, loop, accepted, connecting)
    {
        _socket = socket;
    }

    private SocketChannel(SafeHandle handle, EpollLoop? loop, bool accepted = false, bool connecting = false)
    {
        Handle = handle;
        _loop = loop;
        if (accepted)
        {
            // Not readable until the loop reports it (the registration itself does, if the request is already
            // there): the session's first read then runs on its loop's thread, not on the accepting thread, so
            // its buffers are rented and returned on one thread.
            _readDrainedAt = 0;
        }

        if (connecting)
        {
            // Not writable until the loop sees an edge; the first may come with the registration itself.
            _writeBlockedAt = 0;
        }

        if (loop is not null)
        {
            loop.Register(this, (int)handle.DangerousGetHandle());
        }
    }

    /// <summary>The descriptor, which the epoll loop's syscalls use: the socket's, or a <see cref="SocketDescriptor"/>.</summary>
    internal SafeHandle Handle { get; }

    /// <summary>
    /// The .NET socket. A connection a loop accepted has none until something asks (tests, diagnostics): the loop needs
    /// only the descriptor, and a <see cref="System.Net.Sockets.Socket"/> with its state is ~130 bytes per idle client
    /// connection. Made on demand from the descriptor, it costs the syscalls of <c>new Socket(SafeSocketHandle)</c>.
    /// </summary>
    public Socket Socket
    {
        get
        {
            if (Volatile.Read(ref _socket) is { } socket)
            {
                return socket;
            }

            // Not owning: the descriptor stays the SocketDescriptor's to close (gracefully).
            var made = new Socket(new SafeSocketHandle(Handle.DangerousGetHandle(), ownsHandle: false));
            return Interlocked.CompareExchange(ref _socket, made, null) ?? made;
        }
    }

    public IPEndPoint? RemoteEndPoint => Peer.IsKnown ? Peer.ToEndPoint() : Socket.RemoteEndPoint as IPEndPoint;

    /// <summary>The peer as accept4 reported it (unknown for sockets not accepted by a loop): read without a syscall or an object.</summary>
    public PeerAddress Peer { get; private init; }

    /// <summary>The session to tell when the engine drains or aborts (epoll engine only; see <see cref="IChannelOwner"/>).</summary>
    internal IChannelOwner? Owner { get; set; }

    /// <summary>The event loop this socket's readiness arrives on; null with .NET's engine.</summary>
    internal EpollLoop? Loop => _loop;

    /// <summary>Slot and generation in the loop's table; owned by <see cref="EpollLoop"/>.</summary>
    internal int Slot { get; set; } = -1;

    internal uint Generation { get; set; }

    /// <summary>An accepted socket, registered with <paramref name="loop"/> (null: .NET's socket engine).</summary>
    public static SocketChannel ForAccepted(Socket socket, EpollLoop? loop)
    {
        if (loop is null)
        {
            return new SocketChannel(socket, null);
        }

        EpollNative.SetNonBlocking(socket.SafeHandle);
        return new SocketChannel(socket, loop, accepted: true);
    }

    /// <summary>
    /// A socket <paramref name="loop"/> accepted on its own thread (accept4 made it non-blocking already); registered
    /// with that loop, so the accepting thread is the one that serves it.
    /// </summary>
    public static SocketChannel ForAcceptedOnLoop(SocketDescriptor handle, EpollLoop loop, PeerAddress peer = default)
    {
        try
        {
            return new SocketChannel(handle, loop, accepted: true) { Peer = peer };
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Connects a new socket, registered with <paramref name="loop"/> (null: .NET's socket engine); the caller owns
    /// the result. Throws on failure or cancellation.
    /// </summary>
    public static async ValueTask<SocketChannel> ConnectAsync(EpollLoop? loop, EndPoint endPoint, CancellationToken cancellationToken, DeadlineTimer? timer = null)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            SocketIo.Configure(socket);
            if (loop is null)
            {
                await socket.ConnectAsync(endPoint, timer?.Token ?? cancellationToken).ConfigureAwait(false);
                return new SocketChannel(socket, null);
            }

            EpollNative.SetNonBlocking(socket.SafeHandle);
            var error = EpollNative.Connect(socket.SafeHandle, endPoint.Serialize());
            if (error != 0 && error != EpollNative.InProgress)
            {
                throw SocketErrors.Exception(error);
            }

            var inProgress = error != 0;

            // Registered only now: a socket that has not begun to connect reports itself writable (and hung up).
            var channel = new SocketChannel(socket, loop, connecting: inProgress);
            if (inProgress)
            {
                await channel.WaitConnectedAsync(cancellationToken, timer).ConfigureAwait(false);
            }

            return channel;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async ValueTask WaitConnectedAsync(CancellationToken cancellationToken, DeadlineTimer? timer)
    {
        while (true)
        {
            await StartWrite(default, onlyWait: true, cancellationToken, timer).ConfigureAwait(false);
            var edges = Volatile.Read(ref _writeEdges);
            var error = (SocketError)(int)Socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
            if (error != SocketError.Success)
            {
                throw new SocketException((int)error);
            }

            if (Socket.Poll(0, SelectMode.SelectWrite))
            {
                return;
            }

            _writeBlockedAt = edges;
        }
    }

    /// <summary>Runs on the loop thread for each readiness edge of this socket.</summary>
    internal void OnEvents(uint events)
    {
        if ((events & (EpollNative.In | EpollNative.ReadHup | EpollNative.Err | EpollNative.Hup)) != 0)
        {
            if ((events & (EpollNative.ReadHup | EpollNative.Err | EpollNative.Hup)) != 0)
            {
                // The peer sent FIN (or the connection failed): reads never block again, and a short read no longer
                // means drained, since the end of stream is still to be read after the last bytes.
                Volatile.Write(ref _readClosed, true);
            }

            OnReadEdge();
        }

        if ((events & (EpollNative.Out | EpollNative.Err | EpollNative.Hup)) != 0)
        {
            if ((events & (EpollNative.Err | EpollNative.Hup)) != 0)
            {
                Volatile.Write(ref _writeClosed, true);
            }

            OnWriteEdge();
        }
    }

    /// <summary>From the timer sweep: fails the operations that <paramref name="timer"/> bounds.</summary>
    internal void OnTimerExpired(DeadlineTimer timer)
    {
        if (Volatile.Read(ref _readTimer) == timer)
        {
            OnReadCanceled();
        }

        if (Volatile.Read(ref _writeTimer) == timer)
        {
            OnWriteCanceled();
        }
    }

    /// <summary>A continuation threw on the loop thread: whatever it was waiting for will not come, so close.</summary>
    internal void OnLoopFault() => Abort();

    public void Shutdown(SocketShutdown how)
    {
        if (_loop is null)
        {
            Socket.Shutdown(how);
            return;
        }

        EpollNative.Shutdown(Handle, how);
    }

    /// <summary>Resets the connection (linger 0) instead of a graceful close. Never throws.</summary>
    public void Abort()
    {
        try
        {
            if (_loop is null)
            {
                Socket.LingerState = new LingerOption(true, 0);
            }
            else
            {
                EpollNative.SetLingerReset(Handle);
            }
        }
        catch
        {
            // Best effort: the socket may already be closed.
        }

        Dispose();
    }

    /// <summary>Sends FIN after what is queued, then closes. Never throws.</summary>
    public void CloseGracefully()
    {
        try
        {
            Shutdown(SocketShutdown.Both);
        }
        catch
        {
            // Best effort: the peer may have reset the connection already.
        }

        Dispose();
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _loop?.Unregister(this);

        // A socket made on demand from a SocketDescriptor does not own it: both go.
        Volatile.Read(ref _socket)?.Dispose();
        Handle.Dispose();
        if (_loop is not null)
        {
            // Closing the descriptor removed it from epoll without an edge: fail whatever still waits.
            FailPendingRead(new SocketException((int)SocketError.OperationAborted));
            FailPendingWrite(new SocketException((int)SocketError.OperationAborted));
        }
    }
}
