using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace LoadBalancer.Core.Transport.Epoll;

/// <summary>
/// One loop's listening socket of a listener (SO_REUSEPORT: every loop has its own on the same address, and the kernel
/// spreads new connections over them by their addresses' hash). The loop waits on it level-triggered and accepts on its
/// own thread, so a connection is accepted, registered and served by one thread: no hand-over from an accept thread,
/// and no accept queue or lock shared between loops.
/// </summary>
internal sealed class LoopAcceptor
{
    // Per readiness report, so that a flood of connects cannot starve the loop's established connections.
    private const int MaxAcceptsPerWake = 64;

    // Out of descriptors or memory: the queue stays readable, so the socket leaves the epoll set for this long instead
    // of waking the loop in a tight circle (HAProxy pauses its listeners the same way).
    private const long PauseMs = 100;

    private const int TooManyOpenFiles = 24; // EMFILE
    private const int FileTableOverflow = 23; // ENFILE
    private const int NoBuffers = 105; // ENOBUFS
    private const int OutOfMemory = 12; // ENOMEM
    private const int BadDescriptor = 9; // EBADF
    private const int Invalid = 22; // EINVAL: not listening any more

    private readonly Socket _socket;
    private readonly SafeHandle _handle;
    private readonly Action<SocketChannel> _onAccepted;
    private volatile bool _closed;

    public LoopAcceptor(Socket socket, EpollLoop loop, Action<SocketChannel> onAccepted)
    {
        _socket = socket;
        _handle = socket.SafeHandle;
        Loop = loop;
        _onAccepted = onAccepted;
    }

    public EpollLoop Loop { get; }

    internal SafeHandle Handle => _handle;

    /// <summary>Index and generation in the loop's acceptor table; owned by <see cref="EpollLoop"/>.</summary>
    internal int Index { get; set; } = -1;

    internal uint Generation { get; set; }

    /// <summary>When a pause ends (Environment.TickCount64), or 0 while accepting; loop thread only.</summary>
    internal long PausedUntil { get; private set; }

    /// <summary>Starts accepting: from now on, this loop's thread accepts what comes.</summary>
    public void Start() => Loop.AddAcceptor(this);

    /// <summary>On the loop thread: accepts what is queued, up to a bound, and hands each connection over.</summary>
    internal void OnReadable()
    {
        for (var i = 0; i < MaxAcceptsPerWake && !_closed; i++)
        {
            int fd;
            PeerAddress peer;
            try
            {
                fd = EpollNative.Accept(_handle, out peer);
            }
            catch (ObjectDisposedException)
            {
                // Closed by a reload or the drain while the report was on its way.
                return;
            }

            if (fd < 0)
            {
                switch (-fd)
                {
                    case EpollNative.WouldBlock:
                    case BadDescriptor:
                    case Invalid:
                        return;
                    case TooManyOpenFiles:
                    case FileTableOverflow:
                    case NoBuffers:
                    case OutOfMemory:
                        PausedUntil = Math.Max(1, Environment.TickCount64 + PauseMs);
                        Loop.PauseAcceptor(this);
                        return;
                    default:
                        // ECONNABORTED (reset while queued), EPROTO, EPERM (a firewall rule): the next one may be fine.
                        continue;
                }
            }

            SocketChannel channel;
            try
            {
                channel = SocketChannel.ForAcceptedOnLoop(new SocketDescriptor(fd), Loop, peer);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                // Could not be registered (the loop is stopping, or epoll refused it); the socket is closed.
                continue;
            }

            _onAccepted(channel);
        }
    }

    /// <summary>From the loop's sweep: ends a pause that is over.</summary>
    internal void ResumeIfDue(long now)
    {
        if (PausedUntil != 0 && now >= PausedUntil && !_closed)
        {
            PausedUntil = 0;
            Loop.ResumeAcceptor(this);
        }
    }

    /// <summary>Stops accepting and closes the socket: connections still queued on it are reset by the kernel.</summary>
    public void Close()
    {
        _closed = true;
        Loop.RemoveAcceptor(this);
        _socket.Dispose();
    }
}
