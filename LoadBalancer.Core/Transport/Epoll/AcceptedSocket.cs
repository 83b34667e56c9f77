using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace LoadBalancer.Core.Transport.Epoll;

/// <summary>
/// A <see cref="Socket"/> for a descriptor the loop accepted itself. <c>new Socket(SafeSocketHandle)</c> asks the kernel
/// what it is (seven syscalls: domain, type, protocol, listening, flags, both addresses); .NET's own accept path
/// instead copies what the listening socket already knows, with none. That path is a private method of
/// <see cref="Socket"/>, reached through <see cref="UnsafeAccessorAttribute"/>; should a runtime not have it, the
/// public constructor is used, which costs the syscalls but behaves the same.
/// </summary>
internal static class AcceptedSocket
{
    private static volatile bool s_accessorMissing;

    /// <summary>Owns <paramref name="fd"/> from here on: on failure it is closed.</summary>
    public static Socket Create(Socket listener, int fd)
    {
        var handle = new SafeSocketHandle(fd, ownsHandle: true);
        try
        {
            if (!s_accessorMissing)
            {
                try
                {
                    return CreateAcceptSocket(listener, handle, null);
                }
                catch (MissingMethodException)
                {
                    s_accessorMissing = true;
                }
            }

            return new Socket(handle);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    // Socket.CreateAcceptSocket(SafeSocketHandle fd, EndPoint? remoteEP): the remote address, when null, is read by
    // getpeername the first time RemoteEndPoint is asked for.
    [UnsafeAccessor(UnsafeAccessorKind.Method, Name = "CreateAcceptSocket")]
    private static extern Socket CreateAcceptSocket(Socket listener, SafeSocketHandle fd, EndPoint? remoteEndPoint);
}
