using LoadBalancer.Core.Routing;
using EpollLoopOf = LoadBalancer.Core.Transport.Epoll.EpollLoop;

namespace LoadBalancer.Core.Transport;

/// <summary>
/// Idle keep-alive connections to one backend, kept per event loop: a connection idles in the shard of the loop its
/// socket is registered with, and a request on a loop rents only from that loop's shard, so a loop never touches
/// another loop's idle connections (no shared cache line per rent/return between loops, and a request's backend
/// socket always wakes the thread that serves its client). Each shard is a fixed array of slots taken and filled with
/// Interlocked operations: no lock, no allocation per rent/return; its owner loop is the only writer on the request
/// path, and the CAS only matters against the sweep and reload paths. .NET's engine has no loops and uses one shard.
/// A connection is only ever handed out if nothing came from its backend since its last response ended (RFC 9112
/// section 9.3): bytes or a close while idle take it out of the pool at once (epoll engine) and are checked again at
/// rent, since anything read then would be taken for the answer to someone else's request.
/// </summary>
internal sealed class BackendConnectionPool
{
    /// <summary>Idle connections a loop keeps per backend.</summary>
    internal const int SlotsPerLoop = 1024;

    // One shard per loop, by EpollLoop.Index, each created at its loop's first return (once per backend and loop,
    // never per request): with 20,000 backends of which few are busy, eager arrays were 10 MB of empty slots. Empty
    // (not null) until the first return, so every loop below just finds nothing.
    private Shard?[] _shards = [];

    private sealed class Shard
    {
        public readonly BackendConnection?[] Slots = new BackendConnection?[SlotsPerLoop];
        public int Idle;
    }

    /// <summary>Idle connections over all loops (for tests and status pages).</summary>
    public int IdleCount
    {
        get
        {
            var total = 0;
            foreach (var shard in Volatile.Read(ref _shards))
            {
                total += shard is null ? 0 : Volatile.Read(ref shard.Idle);
            }

            return total;
        }
    }

    /// <summary>
    /// Takes an idle connection younger than <paramref name="maxIdleMs"/> on which nothing arrived while it idled, from
    /// the caller's loop's shard; a caller off every loop (.NET's engine, or a continuation on the thread pool) looks in
    /// every shard. With <paramref name="probe"/> it must also pass a liveness poll (one syscall): callers that can
    /// replay a request on a stale connection skip it. Only a connection handshaken for <paramref name="tlsHost"/>
    /// (the request's Host, for a <c>tls</c> pool that takes its name from it; empty otherwise) is handed out, so the
    /// pool holds one set of connections per (backend, TLS name) and never gives one name's connection to another.
    /// </summary>
    public BackendConnection? Rent(long maxIdleMs, bool probe, ReadOnlySpan<byte> tlsHost = default)
    {
        var shards = Volatile.Read(ref _shards);
        var loop = EpollLoopOf.CurrentThread;
        if (loop is not null && loop.Count == shards.Length)
        {
            return shards[loop.Index] is { } own ? RentFrom(own, maxIdleMs, probe, loop, tlsHost) : null;
        }

        foreach (var shard in shards)
        {
            if (shard is not null && RentFrom(shard, maxIdleMs, probe, loop, tlsHost) is { } connection)
            {
                return connection;
            }
        }

        return null;
    }

    private static BackendConnection? RentFrom(Shard shard, long maxIdleMs, bool probe, EpollLoopOf? loop, ReadOnlySpan<byte> tlsHost)
    {
        if (Volatile.Read(ref shard.Idle) == 0)
        {
            return null;
        }

        var now = Environment.TickCount64;
        var slots = shard.Slots;
        for (var i = 0; i < slots.Length; i++)
        {
            // Looked at before it is taken: another name's connection stays where it is.
            var connection = Volatile.Read(ref slots[i]);
            if (connection is null || !connection.ServesTlsHost(tlsHost)
                || Interlocked.CompareExchange(ref slots[i], null, connection) != connection)
            {
                continue;
            }

            Interlocked.Decrement(ref shard.Idle);
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

    /// <summary>The shard of the loop <paramref name="connection"/>'s socket is registered with (shard 0 on .NET's engine).</summary>
    private Shard ShardFor(BackendConnection connection)
    {
        var loop = connection.Channel.Loop;
        var shards = Volatile.Read(ref _shards);
        if (shards.Length == 0)
        {
            Interlocked.CompareExchange(ref _shards, new Shard?[loop?.Count ?? 1], shards);
            shards = Volatile.Read(ref _shards);
        }

        var index = loop?.Index ?? 0;
        return Volatile.Read(ref shards[index]) ?? Interlocked.CompareExchange(ref shards[index], new Shard(), null) ?? shards[index]!;
    }

    /// <summary>
    /// Parks a connection whose response ended exactly at its framing, in its loop's shard; disposes it when the shard
    /// is full, when its backend left the config, or when more bytes (or a close) already arrived from the backend.
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
        var shard = ShardFor(connection);
        var slots = shard.Slots;
        for (var i = 0; i < slots.Length; i++)
        {
            if (Interlocked.CompareExchange(ref slots[i], connection, null) is null)
            {
                Interlocked.Increment(ref shard.Idle);
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
        if (slot < 0)
        {
            return false;
        }

        var shard = ShardFor(connection);
        if (Interlocked.CompareExchange(ref shard.Slots[slot], null, connection) != connection)
        {
            return false;
        }

        Interlocked.Decrement(ref shard.Idle);
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
        var closed = 0;
        var now = Environment.TickCount64;
        foreach (var shard in Volatile.Read(ref _shards))
        {
            if (shard is null || Volatile.Read(ref shard.Idle) == 0)
            {
                continue;
            }

            foreach (var connection in shard.Slots)
            {
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
        }

        return closed;
    }

    /// <summary>Closes idle connections older than <paramref name="maxIdleMs"/> (all of them with 0); for the sweeper and removed backends.</summary>
    public void CloseIdle(long maxIdleMs)
    {
        var now = Environment.TickCount64;
        foreach (var shard in Volatile.Read(ref _shards))
        {
            if (shard is null)
            {
                continue;
            }

            foreach (var connection in shard.Slots)
            {
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
}
