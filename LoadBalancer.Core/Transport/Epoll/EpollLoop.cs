using System.Runtime.InteropServices;

namespace LoadBalancer.Core.Transport.Epoll;

/// <summary>
/// One epoll instance and the thread that waits on it. Sockets are registered edge-triggered for both directions
/// once; each readiness edge runs the socket's waiting operation, and so the session's continuation, right on this
/// thread. Unlike .NET's own socket engine, a <see cref="SocketChannel"/> remembers that its last read drained the
/// socket and waits for the next edge instead of trying a receive that is bound to fail with EAGAIN: that saved two
/// of the six syscalls of a proxied keep-alive request.
/// </summary>
internal sealed unsafe class EpollLoop
{
    private const int MaxEvents = 256;
    private const uint Interest = EpollNative.In | EpollNative.Out | EpollNative.ReadHup | EpollNative.EdgeTriggered;

    private static readonly Lazy<EpollLoop[]?> Loops = new(CreateLoops);
    private static int s_next;

    [ThreadStatic]
    private static EpollLoop? t_current;

    private readonly int _epollFd;
    private readonly Lock _slotLock = new();

    // Registered channels by slot. The epoll data word carries slot and generation, so an edge still queued for a
    // channel that closed (and whose slot went to a new one) is recognised and dropped.
    private SocketChannel?[] _slots = new SocketChannel?[1024];
    private readonly Stack<int> _freeSlots = new();
    private int _nextSlot;
    private uint _generation;

    private EpollLoop(int epollFd, int index)
    {
        _epollFd = epollFd;
        var thread = new Thread(Run) { IsBackground = true, Name = $"lb-epoll-{index}" };
        thread.UnsafeStart();
    }

    /// <summary>
    /// Linux on x86-64 unless <c>LB_SOCKET_ENGINE=dotnet</c> (kept for comparison runs, and for other platforms,
    /// which always use .NET's engine).
    /// </summary>
    public static bool IsEnabled => Loops.Value is not null;

    /// <summary>
    /// The loop for a new backend connection: the caller's own loop when it runs on one, so a session's client and
    /// backend sockets wake the same thread (no hand-over between threads per request).
    /// </summary>
    public static EpollLoop ForCurrentThread() => t_current ?? Next();

    /// <summary>The loop whose thread is running, or null on any other thread.</summary>
    public static EpollLoop? CurrentThread => t_current;

    /// <summary>The loop for a new connection: round robin, one loop per CPU this process may run on.</summary>
    public static EpollLoop Next()
    {
        var loops = Loops.Value!;
        var index = (uint)Interlocked.Increment(ref s_next) % (uint)loops.Length;
        return loops[index];
    }

    private static EpollLoop[]? CreateLoops()
    {
        if (!OperatingSystem.IsLinux()
            || RuntimeInformation.ProcessArchitecture != Architecture.X64
            || string.Equals(Environment.GetEnvironmentVariable("LB_SOCKET_ENGINE"), "dotnet", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var loops = new EpollLoop[Math.Max(1, Environment.ProcessorCount)];
        for (int i = 0; i < loops.Length; i++)
        {
            var fd = EpollNative.epoll_create1(EpollNative.CloExec);
            if (fd < 0)
            {
                throw new InvalidOperationException($"epoll_create1 failed: errno {Marshal.GetLastPInvokeError()}");
            }

            loops[i] = new EpollLoop(fd, i);
        }

        return loops;
    }

    /// <summary>
    /// Every channel of every loop whose owner belongs to <paramref name="engine"/>, collected under each loop's
    /// table lock and called outside it (the actions close sockets, which unregisters them).
    /// </summary>
    public static List<IChannelOwner> OwnersOf(object engine)
    {
        var owners = new List<IChannelOwner>();
        if (Loops.Value is { } loops)
        {
            foreach (var loop in loops)
            {
                lock (loop._slotLock)
                {
                    foreach (var channel in loop._slots)
                    {
                        if (channel?.Owner is { } owner && owner.Engine == engine)
                        {
                            owners.Add(owner);
                        }
                    }
                }
            }
        }

        return owners;
    }

    /// <summary>The timer sweep's walk over every owned socket; the caller expires what it collected, outside the locks.</summary>
    public static void CollectDue(long now, List<DeadlineTimer> due)
    {
        if (Loops.Value is not { } loops)
        {
            return;
        }

        foreach (var loop in loops)
        {
            lock (loop._slotLock)
            {
                var slots = loop._slots;
                var end = Math.Min(loop._nextSlot, slots.Length);
                for (var i = 0; i < end; i++)
                {
                    slots[i]?.Owner?.CollectDue(now, due);
                }
            }
        }
    }

    /// <summary>Adds the channel's socket; from then on its readiness edges arrive on this loop's thread.</summary>
    public void Register(SocketChannel channel, int fd)
    {
        ulong data;
        lock (_slotLock)
        {
            var slot = _freeSlots.Count > 0 ? _freeSlots.Pop() : _nextSlot++;
            if (slot >= _slots.Length)
            {
                var grown = new SocketChannel?[_slots.Length * 2];
                Array.Copy(_slots, grown, _slots.Length);
                Volatile.Write(ref _slots, grown);
            }

            var generation = ++_generation;
            channel.Slot = slot;
            channel.Generation = generation;
            Volatile.Write(ref _slots[slot], channel);
            data = ((ulong)generation << 32) | (uint)slot;
        }

        var ev = new EpollEvent { Events = Interest, Data = data };
        if (EpollNative.epoll_ctl(_epollFd, EpollNative.CtlAdd, fd, &ev) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            Unregister(channel);
            throw new System.Net.Sockets.SocketException(errno);
        }
    }

    /// <summary>Frees the slot. The socket leaves the epoll set by itself when its descriptor closes.</summary>
    public void Unregister(SocketChannel channel)
    {
        lock (_slotLock)
        {
            var slot = channel.Slot;
            if (slot < 0 || _slots[slot] != channel)
            {
                return;
            }

            Volatile.Write(ref _slots[slot], null);
            channel.Slot = -1;
            _freeSlots.Push(slot);
        }
    }

    private void Run()
    {
        t_current = this;
        var events = (EpollEvent*)NativeMemory.Alloc(MaxEvents, (nuint)sizeof(EpollEvent));
        while (true)
        {
            var count = EpollNative.epoll_wait(_epollFd, events, MaxEvents, -1);
            if (count < 0)
            {
                if (Marshal.GetLastPInvokeError() == EpollNative.Interrupted)
                {
                    continue;
                }

                // The epoll descriptor itself failed: nothing sensible is left to do on this loop.
                return;
            }

            for (int i = 0; i < count; i++)
            {
                var data = events[i].Data;
                var slot = (int)(uint)data;

                // Read the table per event: a registration may have grown it since the wait returned.
                var slots = Volatile.Read(ref _slots);
                var channel = slot < slots.Length ? Volatile.Read(ref slots[slot]) : null;
                if (channel is null || channel.Generation != (uint)(data >> 32))
                {
                    continue;
                }

                try
                {
                    channel.OnEvents(events[i].Events);
                }
                catch (Exception)
                {
                    // A continuation must never take the loop down. Sessions sort out their own errors, so this is
                    // a bug; closing the socket at least ends whatever waited on it.
                    channel.OnLoopFault();
                }
            }
        }
    }
}
