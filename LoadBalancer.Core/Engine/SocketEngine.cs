using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Transport;
using LoadBalancer.Core.Transport.Epoll;

namespace LoadBalancer.Core.Engine;

/// <summary>
/// The one engine object: it owns the event loops (or none, on .NET's engine), the timer sweeps, and the walk over every
/// session that drain, abort and the sweep use, the same way on both engines. The host creates it and passes it in;
/// nothing about it is static, so tests create and dispose engines, and disposing one stops its loop threads.
/// </summary>
public sealed class SocketEngine : IDisposable
{
    private readonly EpollLoop[]? _loops;

    // With .NET's engine there are no loop tables to walk: sessions register here instead.
    private readonly ConcurrentDictionary<IChannelOwner, byte>? _owners;
    private int _next;
    private int _disposed;

    private SocketEngine(SocketEngineKind kind, int loops)
    {
        Kind = kind;
        if (kind == SocketEngineKind.Epoll)
        {
            Counters.LoopShard.EnsureLoops(loops);
            _loops = new EpollLoop[loops];
            for (var i = 0; i < _loops.Length; i++)
            {
                _loops[i] = new EpollLoop(this, i, loops);
            }
        }
        else
        {
            _owners = new ConcurrentDictionary<IChannelOwner, byte>(ReferenceEqualityComparer.Instance);
        }

        // With loops, each sweeps its own sessions' timers on its thread; only .NET's engine needs the sweep's timer.
        Timers = new TimerSweep(_loops is null ? CollectDue : null);
    }

    public SocketEngineKind Kind { get; }

    public bool UsesEpoll => _loops is not null;

    /// <summary>Number of event loops (0 on .NET's engine).</summary>
    public int LoopCount => _loops?.Length ?? 0;

    internal TimerSweep Timers { get; }

    /// <summary>The loops (empty on .NET's engine): each proxy listener has a listening socket on every one.</summary>
    internal EpollLoop[] Loops => _loops ?? [];

    /// <summary>Epoll on Linux x86-64, .NET's engine elsewhere; the only place that knows which platforms have the loop.</summary>
    public static bool EpollSupported => OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64;

    /// <summary>
    /// The engine a process starts with: epoll where supported, unless <c>LB_SOCKET_ENGINE=dotnet</c> asks for .NET's
    /// (kept for comparison runs). Read once at startup by whoever creates the engine.
    /// </summary>
    public static SocketEngineKind KindFromEnvironment()
        => EpollSupported && !string.Equals(Environment.GetEnvironmentVariable("LB_SOCKET_ENGINE"), "dotnet", StringComparison.OrdinalIgnoreCase)
            ? SocketEngineKind.Epoll
            : SocketEngineKind.Dotnet;

    /// <summary>An engine; with epoll, <paramref name="loops"/> loop threads (default: one per CPU the process may use).</summary>
    public static SocketEngine Create(SocketEngineKind kind, int loops = 0)
    {
        if (kind == SocketEngineKind.Epoll && !EpollSupported)
        {
            throw new PlatformNotSupportedException("the epoll engine needs Linux on x86-64");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(loops);
        return new SocketEngine(kind, loops == 0 ? Math.Max(1, Environment.ProcessorCount) : loops);
    }

    public static SocketEngine FromEnvironment() => Create(KindFromEnvironment());

    /// <summary>Round robin over the loops, for a connection made off every loop's thread; null on .NET's engine.</summary>
    internal EpollLoop? NextLoop()
        => _loops is null ? null : _loops[(uint)Interlocked.Increment(ref _next) % (uint)_loops.Length];

    /// <summary>
    /// The loop for a new backend connection: the caller's own loop when it runs on one of this engine's, so a
    /// session's client and backend sockets wake the same thread (no hand-over between threads per request).
    /// </summary>
    internal EpollLoop? LoopForCurrentThread()
        => EpollLoop.CurrentThread is { } current && current.Owner == this ? current : NextLoop();

    /// <summary>A socket accepted by .NET's accept (not a proxy listener's), onto the next loop.</summary>
    internal SocketChannel Accept(Socket socket) => SocketChannel.ForAccepted(socket, NextLoop());

    internal ValueTask<SocketChannel> ConnectAsync(System.Net.EndPoint endPoint, CancellationToken cancellationToken, DeadlineTimer? timer = null)
        => SocketChannel.ConnectAsync(LoopForCurrentThread(), endPoint, cancellationToken, timer);

    /// <summary>A new keep-alive connection to <paramref name="backend"/>; null when the connect failed or timed out.</summary>
    /// <param name="tls">The pool speaks TLS: the connection's transport is a <see cref="Tls.TlsConnection"/> (raw until its handshake).</param>
    internal async ValueTask<BackendConnection?> ConnectAsync(BackendState backend, CancellationToken cancellationToken, DeadlineTimer? timer = null, bool tls = false)
    {
        try
        {
            var channel = await ConnectAsync(backend.Config.EndPoint, cancellationToken, timer).ConfigureAwait(false);
            return new BackendConnection(backend, channel, tls ? new Tls.TlsConnection(channel) : null);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>A timer the sweep finds through its session (<see cref="IChannelOwner.CollectDue"/>).</summary>
    internal DeadlineTimer CreateSessionTimer() => new(Timers, sweptByOwner: true);

    /// <summary>A timer without a session; it registers with the sweep on first use.</summary>
    internal DeadlineTimer CreateTimer() => new(Timers);

    /// <summary>
    /// Makes <paramref name="owner"/> reachable by drain, abort and the timer sweep until <see cref="Detach"/>: through
    /// its client socket's slot in the loop table (no extra memory), or the registry on .NET's engine.
    /// </summary>
    internal void Attach(SocketChannel client, IChannelOwner owner)
    {
        if (_owners is null)
        {
            client.Owner = owner;
        }
        else
        {
            _owners.TryAdd(owner, 0);
        }
    }

    internal void Detach(IChannelOwner owner) => _owners?.TryRemove(owner, out _);

    /// <summary>Every attached session that belongs to <paramref name="proxy"/>, collected first and acted on by the caller.</summary>
    internal List<IChannelOwner> OwnersOf(object proxy)
    {
        var owners = new List<IChannelOwner>();
        if (_loops is not null)
        {
            foreach (var loop in _loops)
            {
                loop.CollectOwners(owners);
            }
        }
        else
        {
            owners.AddRange(_owners!.Keys);
        }

        owners.RemoveAll(o => o.Engine != proxy);
        return owners;
    }

    private void CollectDue(long now, List<DeadlineTimer> due)
    {
        foreach (var (owner, _) in _owners!)
        {
            owner.CollectDue(now, due);
        }
    }

    /// <summary>Stops the sweep and the loop threads; sockets still registered are aborted.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Timers.Dispose();
        if (_loops is not null)
        {
            foreach (var loop in _loops)
            {
                loop.Dispose();
            }
        }
    }
}
