using Microsoft.Win32.SafeHandles;

namespace LoadBalancer.Core.Transport.Epoll;

/// <summary>
/// The descriptor of a connection a loop accepted, owned without a <see cref="System.Net.Sockets.Socket"/> (whose state
/// is ~130 bytes per idle client connection the loop never reads). Not a <see cref="System.Net.Sockets.SafeSocketHandle"/>:
/// releasing one of those on its own (not through its socket) closes abortively, with a reset, where lb means a FIN.
/// Release is a plain close(2); the SafeHandle count keeps the number from being closed, and reused, under a syscall.
/// </summary>
internal sealed class SocketDescriptor : SafeHandleMinusOneIsInvalid
{
    public SocketDescriptor(int fd)
        : base(ownsHandle: true) => SetHandle(fd);

    protected override bool ReleaseHandle() => EpollNative.close((int)handle) == 0;
}
