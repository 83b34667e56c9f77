using System.Runtime.InteropServices;

namespace LoadBalancer.Core.Transport.Epoll;

/// <summary>
/// One epoll instance and the thread that waits on it. Sockets are registered edge-triggered for both directions
/// once; each readiness edge runs the socket's waiting operation, and so the session's continuation, right on this
/// thread. Unlike .NET's own socket engine, a <see cref="SocketChannel"/> remembers that its last read drained the
/// socket and waits for the next edge instead of trying a receive that is bound to fail with EAGAIN: that saved two
/// of the six syscalls of a proxied keep-alive request. Loops belong to an engine (Engine/SocketEngine), which
/// creates them and stops their threads when it is disposed; nothing here is static but the thread's own loop.
/// </summary>
internal sealed unsafe class EpollLoop : IDisposable
{
    private const int MaxEvents = 256;
    private const uint Interest = EpollNative.In | EpollNative.Out | EpollNative.ReadHup | EpollNative.EdgeTriggered;
    private const ulong WakeUp = ulong.MaxValue;

    // Set in the data word of a listening socket (an acceptor): channel slots are below 2^31, so they never have it.
    private const ulong AcceptorTag = 1UL << 31;
    private const int EventFdNonBlockCloExec = 0x800 | 0x80000;

    [ThreadStatic]
    private static EpollLoop? t_current;

    private readonly int _epollFd;
    private readonly int _wakeFd;
    private readonly Thread _thread;
    private readonly Lock _slotLock = new();
    private volatile bool _stopping;

    // Registered channels by slot. The epoll data word carries slot and generation, so an edge still queued for a
    // channel that closed (and whose slot went to a new one) is recognised and dropped.
    private SocketChannel?[] _slots = new SocketChannel?[1024];
    private readonly Stack<int> _freeSlots = new();
    private int _nextSlot;
    private uint _generation;

    // This loop's listening sockets, one per listener (SO_REUSEPORT); a handful, indexed like the slots.
    private LoopAcceptor?[] _acceptors = new LoopAcceptor?[4];

    // The loop expires its own sessions' timers: an epoll_wait timeout instead of a thread-pool timer, which woke a
    // pool worker on the proxy's core 40 times a second (and that worker then spun in sched_yield, about 1.4 per
    // request, measured with strace under wrk on nginx backends).
    private readonly List<DeadlineTimer> _due = [];
    private long _nextSweep;

    // Flushes queued during this turn (loop thread only): run once the batch and the sweep are done, before the next wait.
    private readonly List<IDeferredFlush> _flushes = [];

    public EpollLoop(object owner, int index, int count)
    {
        Owner = owner;
        Index = index;
        Count = count;
        _epollFd = EpollNative.epoll_create1(EpollNative.CloExec);
        if (_epollFd < 0)
        {
            throw new InvalidOperationException($"epoll_create1 failed: errno {Marshal.GetLastPInvokeError()}");
        }

        _wakeFd = EpollNative.eventfd(0, EventFdNonBlockCloExec);
        var wake = new EpollEvent { Events = EpollNative.In, Data = WakeUp };
        if (_wakeFd < 0 || EpollNative.epoll_ctl(_epollFd, EpollNative.CtlAdd, _wakeFd, &wake) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            EpollNative.close(_epollFd);
            throw new InvalidOperationException($"eventfd failed: errno {errno}");
        }

        _thread = new Thread(Run) { IsBackground = true, Name = $"lb-epoll-{index}" };
        _thread.UnsafeStart();
    }

    /// <summary>The engine this loop belongs to.</summary>
    public object Owner { get; }

    /// <summary>This loop's number in its engine, 0..<see cref="Count"/>-1: the index of its shard in per-loop state.</summary>
    public int Index { get; }

    /// <summary>How many loops its engine has.</summary>
    public int Count { get; }

    /// <summary>The loop whose thread is running, or null on any other thread.</summary>
    public static EpollLoop? CurrentThread => t_current;

    /// <summary>On this loop's thread only: <paramref name="flush"/> runs at the end of the current turn.</summary>
    public void DeferFlush(IDeferredFlush flush) => _flushes.Add(flush);

    private void RunFlushes()
    {
        // By index: a flush may queue another (it runs in this same pass).
        for (var i = 0; i < _flushes.Count; i++)
        {
            try
            {
                _flushes[i].Flush();
            }
            catch (Exception)
            {
                // A flush sorts out its own send errors; one that throws must not take the loop (or the others) down.
            }
        }

        _flushes.Clear();
    }

    /// <summary>
    /// Every channel's owner (the session it serves), collected under the table lock and returned for the caller to
    /// act on outside it (the actions close sockets, which unregisters them).
    /// </summary>
    public void CollectOwners(List<IChannelOwner> owners)
    {
        lock (_slotLock)
        {
            foreach (var channel in _slots)
            {
                if (channel?.Owner is { } owner)
                {
                    owners.Add(owner);
                }
            }
        }
    }

    /// <summary>On the loop thread: expires the due timers of this loop's sessions, outside the table lock.</summary>
    private void SweepTimers(long now)
    {
        foreach (var acceptor in Volatile.Read(ref _acceptors))
        {
            acceptor?.ResumeIfDue(now);
        }

        CollectDue(now, _due);
        try
        {
            foreach (var timer in _due)
            {
                try
                {
                    timer.Expire();
                }
                catch (Exception)
                {
                    // Expiry runs a continuation; like an event's, it must never take the loop down.
                }
            }
        }
        finally
        {
            _due.Clear();
        }
    }

    /// <summary>Adds the due timers of every owned socket of this loop (under the table lock; the caller expires them).</summary>
    private void CollectDue(long now, List<DeadlineTimer> due)
    {
        lock (_slotLock)
        {
            var slots = _slots;
            var end = Math.Min(_nextSlot, slots.Length);
            for (var i = 0; i < end; i++)
            {
                slots[i]?.Owner?.CollectDue(now, due);
            }
        }
    }

    /// <summary>Adds the channel's socket; from then on its readiness edges arrive on this loop's thread.</summary>
    public void Register(SocketChannel channel, int fd)
    {
        ObjectDisposedException.ThrowIf(_stopping, this);
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

    /// <summary>
    /// Adds a listening socket, level-triggered for input: each report accepts a bounded batch, and what is left
    /// reports again at the next wait, so established connections get their turn between batches.
    /// </summary>
    public void AddAcceptor(LoopAcceptor acceptor)
    {
        ObjectDisposedException.ThrowIf(_stopping, this);
        ulong data;
        lock (_slotLock)
        {
            var index = Array.IndexOf(_acceptors, null);
            if (index < 0)
            {
                index = _acceptors.Length;
                var grown = new LoopAcceptor?[_acceptors.Length * 2];
                Array.Copy(_acceptors, grown, _acceptors.Length);
                Volatile.Write(ref _acceptors, grown);
            }

            var generation = ++_generation;
            acceptor.Index = index;
            acceptor.Generation = generation;
            Volatile.Write(ref _acceptors[index], acceptor);
            data = ((ulong)generation << 32) | AcceptorTag | (uint)index;
        }

        if (ControlAcceptor(EpollNative.CtlAdd, acceptor, EpollNative.In, data) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            RemoveAcceptor(acceptor);
            throw new System.Net.Sockets.SocketException(SocketErrors.FromErrno(errno));
        }
    }

    /// <summary>Takes a listening socket out of the set, before it closes (any thread).</summary>
    public void RemoveAcceptor(LoopAcceptor acceptor)
    {
        lock (_slotLock)
        {
            var index = acceptor.Index;
            if (index < 0 || _acceptors[index] != acceptor)
            {
                return;
            }

            Volatile.Write(ref _acceptors[index], null);
            acceptor.Index = -1;
        }

        // Best effort: the descriptor may be closed already, which took it out of the set anyway.
        ControlAcceptor(EpollNative.CtlDel, acceptor, 0, 0);
    }

    /// <summary>On the loop thread: no reports for this socket until <see cref="ResumeAcceptor"/>.</summary>
    public void PauseAcceptor(LoopAcceptor acceptor) => ControlAcceptor(EpollNative.CtlMod, acceptor, 0, DataOf(acceptor));

    public void ResumeAcceptor(LoopAcceptor acceptor) => ControlAcceptor(EpollNative.CtlMod, acceptor, EpollNative.In, DataOf(acceptor));

    private static ulong DataOf(LoopAcceptor acceptor) => ((ulong)acceptor.Generation << 32) | AcceptorTag | (uint)acceptor.Index;

    /// <summary>
    /// epoll_ctl on the listening socket with a reference held on its handle, so that a close on another thread cannot
    /// turn the call into one on whatever socket reuses the descriptor number. -1 once it is closed.
    /// </summary>
    private int ControlAcceptor(int operation, LoopAcceptor acceptor, uint events, ulong data)
    {
        var handle = acceptor.Handle;
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            var ev = new EpollEvent { Events = events, Data = data };
            return EpollNative.epoll_ctl(_epollFd, operation, (int)handle.DangerousGetHandle(), &ev);
        }
        catch (ObjectDisposedException)
        {
            return -1;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
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

    /// <summary>
    /// Stops the thread (woken through the eventfd) and aborts channels still registered, so whatever waits on them
    /// fails instead of waiting for edges that no thread would deliver.
    /// </summary>
    public void Dispose()
    {
        if (_stopping)
        {
            return;
        }

        _stopping = true;
        EpollNative.Signal(_wakeFd);
        if (Thread.CurrentThread != _thread)
        {
            _thread.Join(TimeSpan.FromSeconds(5));
        }

        List<SocketChannel> left = [];
        lock (_slotLock)
        {
            foreach (var channel in _slots)
            {
                if (channel is not null)
                {
                    left.Add(channel);
                }
            }
        }

        foreach (var channel in left)
        {
            channel.Abort();
        }
    }

    private void OnAcceptorEvent(ulong data)
    {
        var acceptors = Volatile.Read(ref _acceptors);
        var index = (int)((uint)data & ~(uint)AcceptorTag);
        var acceptor = index < acceptors.Length ? Volatile.Read(ref acceptors[index]) : null;
        if (acceptor is null || acceptor.Generation != (uint)(data >> 32))
        {
            return;
        }

        try
        {
            acceptor.OnReadable();
        }
        catch (Exception)
        {
            // A session's start must never take the loop down; the acceptor itself sorts out accept errors.
        }
    }

    private void Run()
    {
        t_current = this;
        Counters.LoopShard.MarkThread(Index);
        var events = (EpollEvent*)NativeMemory.Alloc(MaxEvents, (nuint)sizeof(EpollEvent));
        try
        {
            var resolution = (int)DeadlineTimer.Resolution.TotalMilliseconds;
            _nextSweep = Environment.TickCount64 + resolution;
            while (!_stopping)
            {
                var count = EpollNative.epoll_wait(_epollFd, events, MaxEvents, resolution);
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
                    if (data == WakeUp)
                    {
                        continue;
                    }

                    if ((data & AcceptorTag) != 0)
                    {
                        OnAcceptorEvent(data);
                        continue;
                    }

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

                var now = Environment.TickCount64;
                if (now >= _nextSweep)
                {
                    _nextSweep = now + resolution;
                    SweepTimers(now);
                }

                if (_flushes.Count > 0)
                {
                    RunFlushes();
                }
            }
        }
        finally
        {
            NativeMemory.Free(events);
            EpollNative.close(_wakeFd);
            EpollNative.close(_epollFd);
            t_current = null;
            Counters.LoopShard.MarkThread(-1);
        }
    }
}
