using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using LoadBalancer.Core.Metrics;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using LoadBalancer.Core.Http1;

namespace LoadBalancer.Core.Proxy;

/// <summary>
/// The data plane: owns the listening sockets of the current snapshot, starts a session per accepted connection, and
/// applies new snapshots (binding new listeners before publishing, so a bind failure rejects the reload whole).
/// </summary>
public sealed class ProxyEngine : IAsyncDisposable
{
    private static readonly TimeSpan MinSweepInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxSweepInterval = TimeSpan.FromSeconds(5);

    private readonly SnapshotHolder _holder;
    private readonly Dictionary<string, ActiveListener> _listeners = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _applyLock = new(1, 1);
    private readonly CancellationTokenSource _drain = new();

    // Cancelled when the drain timeout cuts what is left; only waits that no socket bounds use it (a queued request's
    // wait for a backend slot). Sessions themselves are reached through the engine's walk.
    private readonly CancellationTokenSource _abort = new();
    private readonly ConcurrentDictionary<Task, byte> _acceptLoops = new();
    private int _activeConnections;
    private readonly TaskCompletionSource _allClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _sweeper;

    /// <param name="sockets">The socket engine (loops, timers, the session walk); the caller creates it and disposes it after this.</param>
    public ProxyEngine(SnapshotHolder holder, Engine.SocketEngine sockets, ILoggerFactory? loggerFactory = null)
    {
        _holder = holder;
        Sockets = sockets;
        Logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("LoadBalancer.Engine");
        Health = new Health.HealthMonitor(Logger); // health
        Dns = new Dns.DnsResolver(Logger, () => Health.Apply(_holder.Current));
    }

    /// <summary>Resolves the live pools' backend names and swaps their backends when an answer changes.</summary>
    internal Dns.DnsResolver Dns { get; }

    /// <summary>Active health checks of the live snapshot's pools.</summary>
    internal Health.HealthMonitor Health { get; }

    internal ILogger Logger { get; }

    /// <summary>The loops, the timer sweep and the session walk every connection of this engine uses.</summary>
    public Engine.SocketEngine Sockets { get; }

    /// <summary>
    /// The per-request state HTTP/1 connections borrow (see <see cref="Http1.Http1RequestState"/>): 64 per thread
    /// covers a loop's requests in flight at the bench's 64 connections; more go through the shared queue.
    /// </summary>
    internal Transport.ObjectCache<Http1.Http1RequestState> Http1States { get; } = new(perThread: 64, shared: 1024);

    public SnapshotHolder Snapshots => _holder;

    internal CancellationToken AbortToken => _abort.Token;

    public bool IsDraining => _drain.IsCancellationRequested;

    public int ActiveConnections => Volatile.Read(ref _activeConnections);

    /// <summary>The bound endpoint of a listener by name (the real port when configured with port 0).</summary>
    public IPEndPoint? GetListenerEndPoint(string name)
    {
        lock (_listeners)
        {
            return _listeners.TryGetValue(name, out var active) ? active.Socket.BoundEndPoint : null;
        }
    }

    /// <summary>Binds every listener of the current snapshot and starts accepting. Throws when a bind fails.</summary>
    public async Task StartAsync()
    {
        // Names first, within a bound: a name that resolves serves from the first request; one that does not leaves
        // its pool answering 503 until it does, and lb starts anyway.
        Dns.Apply(_holder.Current);
        await Dns.WaitFirstAnswersAsync(Core.Dns.DnsLookup.QueryTimeout * 2).ConfigureAwait(false);
        await ApplyAsync(_holder.Current, publish: false).ConfigureAwait(false);
        _sweeper ??= SweepIdleConnectionsAsync(_drain.Token);
    }

    /// <summary>
    /// Makes <paramref name="next"/> live: binds listeners that are new (or whose address changed), publishes the
    /// snapshot in one swap, points kept listeners at their new config, then stops the removed ones.
    /// Throws <see cref="SocketException"/> when a bind fails; nothing changed then. Returns false, changing nothing,
    /// once the engine is draining: a stopping lb must not bind new listeners.
    /// </summary>
    public async Task<bool> ApplyAsync(RuntimeSnapshot next, bool publish = true)
    {
        await _applyLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (IsDraining)
            {
                return false;
            }

            var previous = _holder.Current;
            var bound = new List<(ListenerSnapshot Snapshot, ListenerSockets Socket)>();
            try
            {
                foreach (var listener in next.Listeners)
                {
                    if (!_listeners.TryGetValue(listener.Name, out var existing) || existing.Snapshot.Listen != listener.Listen)
                    {
                        bound.Add((listener, BindListener(Sockets, listener)));
                    }
                }
            }
            catch
            {
                foreach (var (_, socket) in bound)
                {
                    socket.Dispose();
                }

                throw;
            }

            if (publish)
            {
                _holder.Publish(next);
            }

            Health.Apply(next); // health: start/stop active checks for the pools and backends of this snapshot
            Dns.Apply(next);
            var keep = new HashSet<string>(StringComparer.Ordinal);
            var retired = new List<ListenerRuntime>();
            lock (_listeners)
            {
                foreach (var listener in next.Listeners)
                {
                    keep.Add(listener.Name);
                    if (_listeners.TryGetValue(listener.Name, out var existing) && existing.Snapshot.Listen == listener.Listen)
                    {
                        existing.Runtime.Snapshot = listener;
                        existing.Snapshot = listener;
                    }
                }

                foreach (var name in _listeners.Keys.ToArray())
                {
                    if (!keep.Contains(name) || bound.Exists(b => b.Snapshot.Name == name))
                    {
                        var removed = _listeners[name];
                        _listeners.Remove(name);
                        removed.Runtime.Retired = true;
                        retired.Add(removed.Runtime);
                        removed.Socket.Dispose();
                        Log.ListenerStopped(Logger, name, removed.Socket.BoundEndPoint);
                    }
                }

                foreach (var (snapshot, socket) in bound)
                {
                    var runtime = new ListenerRuntime(this, snapshot);
                    _listeners[snapshot.Name] = new ActiveListener(snapshot, runtime, socket);
                    StartAcceptLoop(runtime, socket);
                    Log.ListenerStarted(Logger, snapshot.Name, snapshot.Protocol.ToString().ToLowerInvariant(), socket.BoundEndPoint);
                }
            }

            if (retired.Count > 0)
            {
                CloseConnectionsOf(retired);
                _ = AbortConnectionsOfAsync(retired, next.DrainTimeout);
            }

            if (publish)
            {
                RetireRemovedBackends(previous, next);
            }

            return true;
        }
        finally
        {
            _applyLock.Release();
        }
    }

    /// <summary>Binds one listener; the error names it, since the reload log must say which address is taken.</summary>
    private static ListenerSockets BindListener(Engine.SocketEngine engine, ListenerSnapshot listener)
    {
        try
        {
            return ListenerSockets.Bind(engine, listener.EndPoint);
        }
        catch (SocketException ex)
        {
            throw new SocketException((int)ex.SocketErrorCode, $"listener \"{listener.Name}\" cannot listen on {listener.Listen}: {ex.Message}");
        }
    }

    private void StartAcceptLoop(ListenerRuntime runtime, ListenerSockets socket)
    {
        Task? loop;
        try
        {
            loop = socket.Start(accepted => OnAccepted(runtime, accepted));
        }
        catch (SocketException ex)
        {
            // epoll refused a listening socket (out of memory or watches): the listener stays bound but cannot accept.
            Log.AcceptFailed(Logger, runtime.Snapshot.Name, ex);
            return;
        }

        if (loop is null)
        {
            // Epoll: every loop accepts on its own socket; nothing to await.
            return;
        }

        _acceptLoops.TryAdd(loop, 0);
        _ = loop.ContinueWith(
            (t, state) =>
            {
                var engine = (ProxyEngine)state!;
                engine._acceptLoops.TryRemove(t, out _);
                if (t.IsFaulted)
                {
                    Log.AcceptFailed(engine.Logger, runtime.Snapshot.Name, t.Exception!);
                }
            },
            this,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>
    /// A new connection, on the loop that will serve it (epoll: each loop accepts on its own listening socket) or on
    /// the accept loop's thread (.NET's engine). RunAsync never faults (every failure is sorted into a close reason)
    /// and calls OnSessionEnded as its last step, so its task needs no continuation: that saved an allocation held by
    /// every open connection.
    /// </summary>
    private void OnAccepted(ListenerRuntime runtime, SocketChannel channel)
    {
        if (IsDraining)
        {
            channel.Dispose();
            return;
        }

        Interlocked.Increment(ref _activeConnections);
        var snapshot = runtime.Snapshot;
        _ = snapshot.Protocol == ListenerProtocol.Tcp
            ? new TcpSession(channel, runtime).RunAsync()
            : snapshot.Tls is null
                ? new Http1Connection(channel, channel, runtime).RunAsync()
                : new Http1Connection(channel, new Tls.TlsConnection(channel), runtime).RunAsync();
    }

    /// <summary>Called by each session as the last thing it does.</summary>
    internal void OnSessionEnded()
    {
        if (Interlocked.Decrement(ref _activeConnections) == 0 && IsDraining)
        {
            _allClosed.TrySetResult();
        }
    }

    /// <summary>
    /// Backends of <paramref name="previous"/> in no pool of <paramref name="next"/> get no new requests: close their
    /// idle pooled connections now, and mark them so that connections of requests still running on them are closed
    /// when those finish. States are compared by reference: the compiler reuses a state only for the same pool and
    /// address, so a backend moved to another pool has a new state and its old one retires.
    /// </summary>
    /// <summary>
    /// The HTTP connections of listeners a reload removed finish what is in flight and close, as on a drain: an idle
    /// keep-alive connection now, a busy one after its response, HTTP/2 with GOAWAY. TCP tunnels keep running.
    /// </summary>
    private void CloseConnectionsOf(List<ListenerRuntime> retired)
    {
        foreach (var owner in Sockets.OwnersOf(this))
        {
            if (owner is Http1.Http1Connection connection && retired.Contains(connection.Listener))
            {
                ((IChannelOwner)connection).OnDrain();
            }
        }
    }

    /// <summary>What still runs on a removed listener after <c>drain_timeout</c> is cut, as at the end of a drain.</summary>
    private async Task AbortConnectionsOfAsync(List<ListenerRuntime> retired, TimeSpan timeout)
    {
        await Task.Delay(timeout).ConfigureAwait(false);
        try
        {
            foreach (var owner in Sockets.OwnersOf(this))
            {
                if (owner is Http1.Http1Connection connection && retired.Contains(connection.Listener))
                {
                    owner.OnAbort();
                }
            }
        }
        catch (ObjectDisposedException)
        {
            // lb stopped in the meantime; its own drain ended these connections.
        }
    }

    private void RetireRemovedBackends(RuntimeSnapshot previous, RuntimeSnapshot next)
    {
        if (ReferenceEquals(previous, next))
        {
            return;
        }

        var kept = new HashSet<BackendState>(ReferenceEqualityComparer.Instance);
        foreach (var pool in next.Pools.Values)
        {
            kept.UnionWith(pool.Backends);
        }

        var retired = 0;
        foreach (var pool in previous.Pools.Values)
        {
            foreach (var backend in pool.Backends)
            {
                if (!kept.Contains(backend) && !backend.IsRetired)
                {
                    backend.Retire();
                    backend.RetireHttp2Sessions(next.DrainTimeout);
                    retired++;
                }
            }

            // A pool that stops speaking HTTP/2 keeps its backends, but their h2 connections will get no more streams.
            if (pool.Http2 && next.Pools.TryGetValue(pool.Name, out var successor) && !successor.Http2)
            {
                foreach (var backend in pool.Backends)
                {
                    backend.RetireHttp2Sessions(next.DrainTimeout);
                }
            }
        }

        if (retired > 0)
        {
            Log.BackendsRetired(Logger, retired);
        }
    }

    /// <summary>
    /// Closes pooled backend connections idle longer than their pool's <c>idle</c> timeout, or closed by the backend,
    /// so an idle lb holds no stale descriptors (Rent also checks age, but only when a request comes). Runs until the
    /// drain starts; the drain then closes every idle connection itself. Off the data path: locks and LINQ are fine.
    /// </summary>
    private async Task SweepIdleConnectionsAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(SweepInterval(_holder.Current), stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                foreach (var pool in _holder.Current.Pools.Values)
                {
                    var idleMs = (long)pool.Timeouts.Idle.TotalMilliseconds;
                    foreach (var backend in pool.Backends)
                    {
                        backend.IdleConnections.Sweep(idleMs);
                    }
                }
            }
            catch (Exception ex)
            {
                // A bug here must not end the sweeping for good; the next round tries again.
                Log.IdleSweepFailed(Logger, ex);
            }
        }
    }

    /// <summary>Half the shortest pool idle timeout, so a connection outlives its timeout by at most half of it; 100 ms..5 s.</summary>
    internal static TimeSpan SweepInterval(RuntimeSnapshot snapshot)
    {
        var shortest = MaxSweepInterval * 2;
        foreach (var pool in snapshot.Pools.Values)
        {
            if (pool.Timeouts.Idle < shortest)
            {
                shortest = pool.Timeouts.Idle;
            }
        }

        return TimeSpan.FromTicks(Math.Clamp(shortest.Ticks / 2, MinSweepInterval.Ticks, MaxSweepInterval.Ticks));
    }


    /// <summary>
    /// Graceful drain: stop accepting, let in-flight requests finish, close idle keep-alive connections, and abort
    /// whatever is left (tunnels, slow responses) after <paramref name="timeout"/>.
    /// </summary>
    public async Task DrainAsync(TimeSpan timeout)
    {
        // Under the apply lock, so that a reload still running cannot bind a listener after they are all closed.
        await _applyLock.WaitAsync().ConfigureAwait(false);
        try
        {
            lock (_listeners)
            {
                foreach (var active in _listeners.Values)
                {
                    active.Socket.Dispose();
                }

                _listeners.Clear();
            }

            await _drain.CancelAsync().ConfigureAwait(false);
            foreach (var owner in Sockets.OwnersOf(this))
            {
                owner.OnDrain();
            }

            // h2 backend connections say GOAWAY too, and close as the drained requests' streams end.
            foreach (var pool in _holder.Current.Pools.Values)
            {
                foreach (var backend in pool.Backends)
                {
                    backend.RetireHttp2Sessions(timeout);
                }
            }
        }
        finally
        {
            _applyLock.Release();
        }

        Log.Draining(Logger, timeout, ActiveConnections);
        if (ActiveConnections > 0)
        {
            var finished = await Task.WhenAny(_allClosed.Task, Task.Delay(timeout)).ConfigureAwait(false);
            if (finished != _allClosed.Task)
            {
                Log.DrainAborted(Logger, ActiveConnections);
                await _abort.CancelAsync().ConfigureAwait(false);
                foreach (var owner in Sockets.OwnersOf(this))
                {
                    owner.OnAbort();
                }

                await Task.WhenAny(_allClosed.Task, Task.Delay(TimeSpan.FromSeconds(2))).ConfigureAwait(false);
            }
        }

        if (_sweeper is not null)
        {
            await _sweeper.ConfigureAwait(false);
        }

        foreach (var pool in _holder.Current.Pools.Values)
        {
            foreach (var backend in pool.Backends)
            {
                backend.IdleConnections.CloseIdle(0);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!IsDraining)
        {
            await DrainAsync(TimeSpan.Zero).ConfigureAwait(false);
        }

        await Dns.DisposeAsync().ConfigureAwait(false);
        await Health.DisposeAsync().ConfigureAwait(false); // health
        _drain.Dispose();
        _abort.Dispose();
        _applyLock.Dispose();
    }

    private sealed class ActiveListener(ListenerSnapshot snapshot, ListenerRuntime runtime, ListenerSockets socket)
    {
        public ListenerSnapshot Snapshot { get; set; } = snapshot;

        public ListenerRuntime Runtime { get; } = runtime;

        public ListenerSockets Socket { get; } = socket;
    }
}
