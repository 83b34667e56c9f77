using EpollLoopOf = LoadBalancer.Core.Transport.Epoll.EpollLoop;

namespace LoadBalancer.Core.Transport;

/// <summary>
/// Idle keep-alive connections to one backend. A fixed array of slots taken and filled with Interlocked operations:
/// no lock, no allocation per rent/return, and contention only between sessions that hit the same slot.
/// </summary>
internal sealed class BackendConnectionPool
{
    private const int SlotCount = 64;
    private readonly BackendConnection?[] _slots = new BackendConnection?[SlotCount];
    private int _idleCount;

    public int IdleCount => Volatile.Read(ref _idleCount);

    /// <summary>
    /// Takes an idle connection younger than <paramref name="maxIdleMs"/>. With <paramref name="probe"/> it must also
    /// pass a liveness poll (one syscall): callers that can replay a request on a stale connection skip it.
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
                if (now - connection.IdleSinceTicks <= maxIdleMs && (!probe || connection.LooksAlive()))
                {
                    return connection;
                }

                connection.Dispose();
            }
        }

        return null;
    }

    /// <summary>Parks a connection that finished a response cleanly; disposes it when the pool is full.</summary>
    public void Return(BackendConnection connection)
    {
        // A backend that a reload removed gets no new requests: its connection would only sit idle until the sweep.
        if (connection.Backend.IsRetired)
        {
            connection.Dispose();
            return;
        }

        connection.IdleSinceTicks = Environment.TickCount64;
        connection.Reused = true;
        for (var i = 0; i < _slots.Length; i++)
        {
            if (Interlocked.CompareExchange(ref _slots[i], connection, null) is null)
            {
                Interlocked.Increment(ref _idleCount);

                // Retire() may have swept between the check above and the CompareExchange (a full fence, as is the
                // one in Retire): look again, and take the connection back out if it may have been missed.
                if (connection.Backend.IsRetired && Interlocked.CompareExchange(ref _slots[i], null, connection) == connection)
                {
                    Interlocked.Decrement(ref _idleCount);
                    connection.Dispose();
                }

                return;
            }
        }

        connection.Dispose();
    }

    /// <summary>
    /// The periodic sweep: closes idle connections older than <paramref name="maxIdleMs"/> and those the backend has
    /// closed (readable while idle), so neither holds a descriptor until a request happens to rent it. Returns how
    /// many it closed. Safe against concurrent Rent/Return: a slot is only emptied by CompareExchange.
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
            if (connection is null || (now - connection.IdleSinceTicks <= maxIdleMs && connection.LooksAlive()))
            {
                continue;
            }

            if (Interlocked.CompareExchange(ref _slots[i], null, connection) == connection)
            {
                Interlocked.Decrement(ref _idleCount);
                connection.Dispose();
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

            if (Interlocked.CompareExchange(ref _slots[i], null, connection) == connection)
            {
                Interlocked.Decrement(ref _idleCount);
                connection.Dispose();
            }
        }
    }
}
