using System.Runtime.InteropServices;

namespace LoadBalancer.Core.Transport.Epoll;

/// <summary>The three epoll calls the event loop needs, straight from libc.</summary>
internal static unsafe partial class EpollNative
{
    public const int CloExec = 0x80000;
    public const int CtlAdd = 1;

    public const uint In = 0x001;
    public const uint Out = 0x004;
    public const uint Err = 0x008;
    public const uint Hup = 0x010;
    public const uint ReadHup = 0x2000;
    public const uint EdgeTriggered = 1u << 31;

    public const int Interrupted = 4; // EINTR

    [LibraryImport("libc", SetLastError = true)]
    public static partial int epoll_create1(int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int epoll_ctl(int epfd, int op, int fd, EpollEvent* ev);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int epoll_wait(int epfd, EpollEvent* events, int maxEvents, int timeout);
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
