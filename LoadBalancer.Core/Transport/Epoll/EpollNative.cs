using System.Runtime.InteropServices;

namespace LoadBalancer.Core.Transport.Epoll;

/// <summary>The epoll calls the event loop needs, and the socket calls it makes itself, straight from libc.</summary>
internal static unsafe partial class EpollNative
{
    public const int CloExec = 0x80000;
    public const int CtlAdd = 1;
    public const int CtlDel = 2;
    public const int CtlMod = 3;

    public const uint In = 0x001;
    public const uint Out = 0x004;
    public const uint Err = 0x008;
    public const uint Hup = 0x010;
    public const uint ReadHup = 0x2000;
    public const uint EdgeTriggered = 1u << 31;

    public const int Interrupted = 4; // EINTR
    public const int WouldBlock = 11; // EAGAIN
    public const int InProgress = 115; // EINPROGRESS

    private const int GetFlags = 3; // F_GETFL
    private const int SetFlags = 4; // F_SETFL
    private const int NonBlocking = 0x800; // O_NONBLOCK
    private const int NoSignal = 0x4000; // MSG_NOSIGNAL
    private const int AcceptFlags = NonBlocking | CloExec; // SOCK_NONBLOCK | SOCK_CLOEXEC
    private const int SolSocket = 1;
    private const int ReusePortOption = 15; // SO_REUSEPORT

    [LibraryImport("libc", SetLastError = true)]
    public static partial int epoll_create1(int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int epoll_ctl(int epfd, int op, int fd, EpollEvent* ev);

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    private static partial nint Recv(SafeHandle fd, byte* buffer, nint length, int flags);

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    private static partial nint Send(SafeHandle fd, byte* buffer, nint length, int flags);

    [LibraryImport("libc", EntryPoint = "connect", SetLastError = true)]
    private static partial int Connect(SafeHandle fd, byte* address, int length);

    [LibraryImport("libc", EntryPoint = "accept4", SetLastError = true)]
    private static partial int Accept4(SafeHandle fd, byte* address, int* length, int flags);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(SafeHandle fd, int command, int argument);

    [LibraryImport("libc", EntryPoint = "shutdown", SetLastError = true)]
    private static partial int ShutdownSocket(SafeHandle fd, int how);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    private static partial int SetSockOpt(SafeHandle fd, int level, int option, void* value, int length);

    private const int LingerOption = 13; // SO_LINGER
    private const int PeekNoWait = 0x2 | 0x40; // MSG_PEEK | MSG_DONTWAIT

    /// <summary>shutdown(2); throws like <see cref="System.Net.Sockets.Socket.Shutdown"/> does.</summary>
    public static void Shutdown(SafeHandle fd, System.Net.Sockets.SocketShutdown how)
    {
        // SHUT_RD, SHUT_WR, SHUT_RDWR are 0, 1, 2, as SocketShutdown's values.
        if (ShutdownSocket(fd, (int)how) < 0)
        {
            throw new System.Net.Sockets.SocketException(SocketErrors.FromErrno(Marshal.GetLastPInvokeError()));
        }
    }

    /// <summary>SO_LINGER {on, 0 s}: close(2) then resets the connection instead of sending FIN.</summary>
    public static void SetLingerReset(SafeHandle fd)
    {
        var linger = stackalloc int[2] { 1, 0 };
        if (SetSockOpt(fd, SolSocket, LingerOption, linger, 2 * sizeof(int)) < 0)
        {
            throw new System.Net.Sockets.SocketException(SocketErrors.FromErrno(Marshal.GetLastPInvokeError()));
        }
    }

    /// <summary>
    /// Whether a read would not block: data, end of stream or an error are all "readable", as poll(2)'s POLLIN is.
    /// One recv(MSG_PEEK | MSG_DONTWAIT) of one byte, which consumes nothing.
    /// </summary>
    public static bool PeekReadable(SafeHandle fd)
    {
        byte one;
        while (true)
        {
            if (Recv(fd, &one, 1, PeekNoWait) >= 0)
            {
                return true;
            }

            var errno = Marshal.GetLastPInvokeError();
            if (errno != Interrupted)
            {
                return errno != WouldBlock;
            }
        }
    }

    /// <summary>recv(2): bytes read (0 at end of stream), or -errno.</summary>
    public static int Receive(SafeHandle fd, Span<byte> buffer)
    {
        fixed (byte* data = buffer)
        {
            while (true)
            {
                var result = Recv(fd, data, buffer.Length, 0);
                if (result >= 0)
                {
                    return (int)result;
                }

                var errno = Marshal.GetLastPInvokeError();
                if (errno != Interrupted)
                {
                    return -errno;
                }
            }
        }
    }

    /// <summary>send(2) without SIGPIPE: bytes taken, or -errno.</summary>
    public static int Send(SafeHandle fd, ReadOnlySpan<byte> buffer)
    {
        fixed (byte* data = buffer)
        {
            while (true)
            {
                var result = Send(fd, data, buffer.Length, NoSignal);
                if (result >= 0)
                {
                    return (int)result;
                }

                var errno = Marshal.GetLastPInvokeError();
                if (errno != Interrupted)
                {
                    return -errno;
                }
            }
        }
    }

    /// <summary>connect(2) on a non-blocking socket: 0, or errno (EINPROGRESS while the handshake runs).</summary>
    public static int Connect(SafeHandle fd, System.Net.SocketAddress address)
    {
        fixed (byte* data = address.Buffer.Span)
        {
            return Connect(fd, data, address.Size) == 0 ? 0 : Marshal.GetLastPInvokeError();
        }
    }

    /// <summary>
    /// accept4(2) of one pending connection, already non-blocking and close-on-exec: the new descriptor, or -errno
    /// (-EAGAIN when the queue is empty), with the peer's address as the kernel gives it along.
    /// </summary>
    public static int Accept(SafeHandle listener, out PeerAddress peer)
    {
        // sockaddr_storage: large enough for any family the listener may hand over.
        var sockaddr = stackalloc byte[128];
        while (true)
        {
            var length = 128;
            var fd = Accept4(listener, sockaddr, &length, AcceptFlags);
            if (fd >= 0)
            {
                peer = PeerAddress.FromSockaddr(new ReadOnlySpan<byte>(sockaddr, Math.Min(length, 128)));
                return fd;
            }

            peer = default;

            var errno = Marshal.GetLastPInvokeError();
            if (errno != Interrupted)
            {
                return -errno;
            }
        }
    }

    /// <summary>SO_REUSEPORT, so that each loop has a listening socket of its own on one address (the kernel spreads connections by hash).</summary>
    public static void SetReusePort(System.Net.Sockets.Socket socket)
        => socket.SetRawSocketOption(SolSocket, ReusePortOption, [1, 0, 0, 0]);

    /// <summary>
    /// O_NONBLOCK set by hand rather than through <c>Socket.Blocking</c>, which would give the socket a .NET async
    /// context (about 200 bytes per connection) that the epoll loop never uses.
    /// </summary>
    public static void SetNonBlocking(SafeHandle fd)
    {
        var flags = Fcntl(fd, GetFlags, 0);
        if (flags < 0 || Fcntl(fd, SetFlags, flags | NonBlocking) < 0)
        {
            throw new System.Net.Sockets.SocketException(SocketErrors.FromErrno(Marshal.GetLastPInvokeError()));
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    public static partial int epoll_wait(int epfd, EpollEvent* events, int maxEvents, int timeout);

    /// <summary>eventfd(2): the loop's wake-up, so that disposing an engine ends its loop threads.</summary>
    [LibraryImport("libc", SetLastError = true)]
    public static partial int eventfd(uint initial, int flags);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint Write(int fd, byte* buffer, nint length);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);

    /// <summary>Adds one to an eventfd counter, which makes it readable.</summary>
    public static void Signal(int eventFd)
    {
        ulong one = 1;
        Write(eventFd, (byte*)&one, sizeof(ulong));
    }
}

/// <summary>
/// <c>struct epoll_event</c> as x86-64 lays it out: packed to 12 bytes. Other architectures use natural alignment
/// (16 bytes), which is why the loop only runs on x86-64 and everything else keeps .NET's socket engine.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
internal struct EpollEvent
{
    public uint Events;
    public ulong Data;
}
