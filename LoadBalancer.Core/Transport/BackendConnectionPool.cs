using LoadBalancer.Core.Routing;
using EpollLoopOf = LoadBalancer.Core.Transport.Epoll.EpollLoop;

namespace LoadBalancer.Core.Transport;

/// <summary>
/// Idle keep-alive connections to one backend. A fixed array of slots taken and filled with Interlocked operations:
/// no lock, no allocation per rent/return, and contention only between sessions that hit the same slot.
/// A connection is only ever handed out if nothing came from its backend since its last response ended (RFC 9112
/// section 9.3): bytes or a close while idle take it out of the pool at once (epoll engine) and are checked again at
/// rent, since anything read then would be taken for the answer to someone else's request.
/// </summary>
internal sealed class BackendConnectionPool
{
    private const int SlotCount = 64;

    // Allocated at the first return (once per backend, never per request): with 20,000 backends of which few are busy,
    // eager arrays were 10 MB of empty slots. Empty (not null) until then, so every loop below just finds nothing.
    private BackendConnection?[] _slots = Array.Empty<BackendConnection?>();
    private int _idleCount;

    public int IdleCount => Volatile.Read(ref _idleCount);

    /// <summary>
    /// Takes an idle connection younger than <paramref name="maxIdleMs"/> on which nothing arrived while it idled. With
    /// <paramref name="probe"/> it must also pass a liveness poll (one syscall): callers that can replay a request on
    /// a stale connection skip it.
    /// </summary>
    public BackendConnection? Rent(long maxIdleMs, bool probe)
    {
        if (Volatile.Read(ref _idleCount) == 0)
        {
            return null;
        }

        // First a connection on the caller's own event loop, so the request and its response are handled by one
        // thread (no wake-up of another loop, buffers returned where they were rented); then any.
        var now = Environment.TickCount64;
        var loop = EpollLoopOf.CurrentThread;
        for (var pass = loop is null ? 1 : 0; pass < 2; pass++)
        {
            for (var i = 0; i < _slots.Length; i++)
            {
                var candidate = Volatile.Read(ref _slots[i]);
                if (candidate is null || (pass == 0 && candidate.Channel.Loop != loop))
                {
                    continue;
                }

                var connection = Interlocked.Exchange(ref _slots[i], null);
                if (connection is null)
                {
                    continue;
                }

                Interlocked.Decrement(ref _idleCount);
                connection.PoolSlot = -1;
                connection.Channel.IdleWatcher = null;
                if (now - connection.IdleSinceTicks > maxIdleMs)
                {
                    connection.Discard(DiscardReason.Expired);
                    continue;
                }

                if (ReadableSinceReturn(connection, loop, probe))
                {
                    connection.Discard(connection.ReadableReason(idle: true));
                    continue;
                }

                return connection;
            }
        }

        return null;
    }

    /// <summary>
    /// On its own loop, an edge that came before the caller's was already counted (epoll reports edges in the order
    /// they happened), so the bookkeeping answers without a syscall. From another loop's thread, or with .NET's
    /// engine, or when asked to probe, one poll decides.
    /// </summary>
    private static bool ReadableSinceReturn(BackendConnection connection, EpollLoopOf? callerLoop, bool probe)
    {
        var channel = connection.Channel;
        if (probe || channel.Loop is null || channel.Loop != callerLoop)
        {
            return channel.PollReadable();
        }

        return channel.MayBeReadable();
    }

    /// <summary>
    /// Parks a connection whose response ended exactly at its framing; disposes it when the pool is full, when its
    /// backend left the config, or when more bytes (or a close) already arrived from the backend.
    /// </summary>
    public void Return(BackendConnection connection)
    {
        // A backend that a reload removed gets no new requests: its connection would only sit idle until the sweep.
        if (connection.Backend.IsRetired)
        {
            connection.Discard(DiscardReason.Expired);
            return;
        }

        // Epoll bookkeeping only (free unless an edge came after the last read): with .NET's engine the rent polls.
        var channel = connection.Channel;
        if (channel.Loop is not null && channel.MayBeReadable())
        {
            connection.Discard(connection.ReadableReason(idle: false));
            return;
        }

        connection.IdleSinceTicks = Environment.TickCount64;
        connection.Reused = true;
        channel.IdleWatcher = connection;
        if (_slots.Length == 0)
        {
            Interlocked.CompareExchange(ref _slots, new BackendConnection?[SlotCount], Array.Empty<BackendConnection?>());
        }

        var slots = _slots;
        for (var i = 0; i < slots.Length; i++)
        {
            if (Interlocked.CompareExchange(ref slots[i], connection, null) is null)
            {
                Interlocked.Increment(ref _idleCount);
                connection.PoolSlot = i;

                // Retire() may have swept between the check above and the CompareExchange (a full fence, as is the
                // one in Retire): look again, and take the connection back out if it may have been missed. The same
                // for an edge that came before the watcher could find the slot.
                if (connection.Backend.IsRetired && TryTake(connection))
                {
                    connection.Discard(DiscardReason.Expired);
                }
                else if (channel.Loop is not null && channel.MayBeReadable() && TryTake(connection))
                {
                    connection.Discard(connection.ReadableReason(idle: false));
                }

                return;
            }
        }

        channel.IdleWatcher = null;
        connection.Discard(DiscardReason.Expired);
    }

    /// <summary>Takes <paramref name="connection"/> out of its slot if it is still idle there; false when someone else took it.</summary>
    public bool TryTake(BackendConnection connection)
    {
        var slot = connection.PoolSlot;
        if (slot < 0 || Interlocked.CompareExchange(ref _slots[slot], null, connection) != connection)
        {
            return false;
        }

        Interlocked.Decrement(ref _idleCount);
        connection.PoolSlot = -1;
        connection.Channel.IdleWatcher = null;
        return true;
    }

    /// <summary>
    /// The periodic sweep: closes idle connections older than <paramref name="maxIdleMs"/> and those the backend has
    /// closed or written to while idle (with .NET's engine nothing else notices), so neither holds a descriptor until a
    /// request happens to rent it. Returns how many it closed. Safe against concurrent Rent/Return and the watcher: a
    /// slot is only emptied by CompareExchange.
    /// </summary>
    public int Sweep(long maxIdleMs)
    {
        if (Volatile.Read(ref _idleCount) == 0)
        {
            return 0;
        }

        var closed = 0;
        var now = Environment.TickCount64;
        for (var i = 0; i < _slots.Length; i++)
        {
            var connection = Volatile.Read(ref _slots[i]);
            if (connection is null)
            {
                continue;
            }

            var expired = now - connection.IdleSinceTicks > maxIdleMs;
            if ((expired || !connection.LooksAlive()) && TryTake(connection))
            {
                connection.Discard(expired ? DiscardReason.Expired : connection.ReadableReason(idle: true));
                closed++;
            }
        }

        return closed;
    }

    /// <summary>Closes idle connections older than <paramref name="maxIdleMs"/> (all of them with 0); for the sweeper and removed backends.</summary>
    public void CloseIdle(long maxIdleMs)
    {
        var now = Environment.TickCount64;
        for (var i = 0; i < _slots.Length; i++)
        {
            var connection = Volatile.Read(ref _slots[i]);
            if (connection is null || (maxIdleMs > 0 && now - connection.IdleSinceTicks <= maxIdleMs))
            {
                continue;
            }

            if (TryTake(connection))
            {
                connection.Discard(DiscardReason.Expired);
            }
        }
    }
}
