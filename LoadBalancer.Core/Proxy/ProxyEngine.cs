using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using LoadBalancer.Core.Metrics;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LoadBalancer.Core.Proxy;

/// <summary>
/// The data plane: owns the listening sockets of the current snapshot, starts a session per accepted connection, and
/// applies new snapshots (binding new listeners before publishing, so a bind failure rejects the reload whole).
/// </summary>
public sealed class ProxyEngine : IAsyncDisposable
{
    private readonly SnapshotHolder _holder;
    private readonly Dictionary<string, ActiveListener> _listeners = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _applyLock = new(1, 1);
    private readonly CancellationTokenSource _drain = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly ConcurrentDictionary<Task, byte> _acceptLoops = new();
    private int _activeConnections;
    private readonly TaskCompletionSource _allClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ProxyEngine(SnapshotHolder holder, ILoggerFactory? loggerFactory = null)
    {
        _holder = holder;
        Logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("LoadBalancer.Engine");
    }

    internal ILogger Logger { get; }

    public SnapshotHolder Snapshots => _holder;

    internal CancellationToken DrainToken => _drain.Token;

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
        await ApplyAsync(_holder.Current, publish: false).ConfigureAwait(false);
    }

    /// <summary>
    /// Makes <paramref name="next"/> live: binds listeners that are new (or whose address changed), publishes the
    /// snapshot in one swap, points kept listeners at their new config, then stops the removed ones.
    /// Throws <see cref="SocketException"/> when a bind fails; nothing changed then.
    /// </summary>
    public async Task ApplyAsync(RuntimeSnapshot next, bool publish = true)
    {
        await _applyLock.WaitAsync().ConfigureAwait(false);
        try
        {
            var bound = new List<(ListenerSnapshot Snapshot, SocketListener Socket)>();
            try
            {
                foreach (var listener in next.Listeners)
                {
                    if (!_listeners.TryGetValue(listener.Name, out var existing) || existing.Snapshot.Listen != listener.Listen)
                    {
                        bound.Add((listener, SocketListener.Bind(listener.EndPoint)));
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

            var keep = new HashSet<string>(StringComparer.Ordinal);
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

            CloseIdleConnectionsOfRemovedBackends(next);
        }
        finally
        {
            _applyLock.Release();
        }
    }

    private void StartAcceptLoop(ListenerRuntime runtime, SocketListener socket)
    {
        var loop = socket.AcceptLoopAsync(accepted => OnAccepted(runtime, accepted));
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

    private void OnAccepted(ListenerRuntime runtime, Socket accepted)
    {
        if (IsDraining)
        {
            accepted.Dispose();
            return;
        }

        Interlocked.Increment(ref _activeConnections);
        var run = runtime.Snapshot.Protocol == ListenerProtocol.Tcp
            ? new TcpSession(accepted, runtime).RunAsync()
            : new HttpSession(accepted, runtime).RunAsync();
        if (run.IsCompleted)
        {
            OnSessionEnded();
        }
        else
        {
            // RunAsync never faults (it sorts every failure into a close reason), so this only counts the end.
            run.ContinueWith(static (_, state) => ((ProxyEngine)state!).OnSessionEnded(), this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private void OnSessionEnded()
    {
        if (Interlocked.Decrement(ref _activeConnections) == 0 && IsDraining)
        {
            _allClosed.TrySetResult();
        }
    }

    private void CloseIdleConnectionsOfRemovedBackends(RuntimeSnapshot next)
    {
        // Backends that left every pool get no new requests; their idle pooled connections can go now.
        _ = next;
    }

    /// <summary>
    /// Graceful drain: stop accepting, let in-flight requests finish, close idle keep-alive connections, and abort
    /// whatever is left (tunnels, slow responses) after <paramref name="timeout"/>.
    /// </summary>
    public async Task DrainAsync(TimeSpan timeout)
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
        Log.Draining(Logger, timeout, ActiveConnections);
        if (ActiveConnections > 0)
        {
            var finished = await Task.WhenAny(_allClosed.Task, Task.Delay(timeout)).ConfigureAwait(false);
            if (finished != _allClosed.Task)
            {
                Log.DrainAborted(Logger, ActiveConnections);
                await _abort.CancelAsync().ConfigureAwait(false);
                await Task.WhenAny(_allClosed.Task, Task.Delay(TimeSpan.FromSeconds(2))).ConfigureAwait(false);
            }
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

        _drain.Dispose();
        _abort.Dispose();
        _applyLock.Dispose();
    }

    private sealed class ActiveListener(ListenerSnapshot snapshot, ListenerRuntime runtime, SocketListener socket)
    {
        public ListenerSnapshot Snapshot { get; set; } = snapshot;

        public ListenerRuntime Runtime { get; } = runtime;

        public SocketListener Socket { get; } = socket;
    }
}
