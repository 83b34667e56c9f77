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

        var now = Environment.TickCount64;
        for (var i = 0; i < _slots.Length; i++)
        {
            if (Volatile.Read(ref _slots[i]) is null)
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

        return null;
    }

    /// <summary>Parks a connection that finished a response cleanly; disposes it when the pool is full.</summary>
    public void Return(BackendConnection connection)
    {
        connection.IdleSinceTicks = Environment.TickCount64;
        connection.Reused = true;
        for (var i = 0; i < _slots.Length; i++)
        {
            if (Interlocked.CompareExchange(ref _slots[i], connection, null) is null)
            {
                Interlocked.Increment(ref _idleCount);
                return;
            }
        }

        connection.Dispose();
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
