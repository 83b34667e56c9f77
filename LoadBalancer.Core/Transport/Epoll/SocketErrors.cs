using System.Net.Sockets;

namespace LoadBalancer.Core.Transport.Epoll;

/// <summary>Linux errno values as the <see cref="SocketError"/> codes the rest of lb (and .NET) speak.</summary>
internal static class SocketErrors
{
    public static int FromErrno(int errno) => (int)(errno switch
    {
        11 => SocketError.WouldBlock,
        32 => SocketError.Shutdown, // EPIPE
        9 => SocketError.OperationAborted, // EBADF: closed under us
        103 => SocketError.ConnectionAborted,
        104 => SocketError.ConnectionReset,
        107 => SocketError.NotConnected,
        110 => SocketError.TimedOut,
        111 => SocketError.ConnectionRefused,
        113 => SocketError.HostUnreachable,
        101 => SocketError.NetworkUnreachable,
        115 => SocketError.InProgress,
        _ => SocketError.SocketError,
    });

    public static SocketException Exception(int errno) => new(FromErrno(errno));
}
