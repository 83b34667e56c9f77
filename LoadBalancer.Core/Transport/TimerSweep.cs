using System.Collections.Concurrent;

namespace LoadBalancer.Core.Transport;

/// <summary>
/// Expires <see cref="DeadlineTimer"/>s every <see cref="DeadlineTimer.Resolution"/> from a thread-pool timer: with
/// .NET's socket engine the timers of every session (found through the engine's walk, no registration per connection),
/// and on either engine the few standalone timers that registered here on first use. With the epoll engine the loops
/// expire their own sessions' timers (see EpollLoop), and this timer only starts once a standalone timer needs it.
/// One per engine; disposed with it.
/// </summary>
internal sealed class TimerSweep : IDisposable
{
    private readonly ConcurrentDictionary<DeadlineTimer, byte> _standalone = new();
    private readonly List<DeadlineTimer> _due = [];
    private readonly Action<long, List<DeadlineTimer>>? _collectOwned;
    private readonly Lock _startLock = new();
    private Timer? _timer;
    private bool _disposed;
    private int _sweeping;

    /// <param name="collectOwned">
    /// Adds the due timers of every session the engine serves (see <see cref="IChannelOwner.CollectDue"/>); null when
    /// the sessions' timers are swept elsewhere (by the epoll loops), which also defers the timer to the first standalone one.
    /// </param>
    public TimerSweep(Action<long, List<DeadlineTimer>>? collectOwned)
    {
        _collectOwned = collectOwned;
        if (collectOwned is not null)
        {
            Start();
        }
    }

    internal void Add(DeadlineTimer timer)
    {
        _standalone.TryAdd(timer, 0);
        if (Volatile.Read(ref _timer) is null)
        {
            Start();
        }
    }

    private void Start()
    {
        lock (_startLock)
        {
            if (_timer is null && !_disposed)
            {
                Volatile.Write(ref _timer, new Timer(static s => ((TimerSweep)s!).Sweep(), this, DeadlineTimer.Resolution, DeadlineTimer.Resolution));
            }
        }
    }

    internal void Remove(DeadlineTimer timer) => _standalone.TryRemove(timer, out _);

    private void Sweep()
    {
        // Timer callbacks may overlap when one runs long; one sweep at a time is enough.
        if (Interlocked.Exchange(ref _sweeping, 1) != 0)
        {
            return;
        }

        try
        {
            var now = Environment.TickCount64;
            foreach (var (timer, _) in _standalone)
            {
                if (timer.TakeIfDue(now))
                {
                    _due.Add(timer);
                }
            }

            _collectOwned?.Invoke(now, _due);

            // Expired outside every lock: expiry runs the waiting session's continuation.
            foreach (var timer in _due)
            {
                timer.Expire();
            }
        }
        finally
        {
            _due.Clear();
            Volatile.Write(ref _sweeping, 0);
        }
    }

    public void Dispose()
    {
        lock (_startLock)
        {
            _disposed = true;
            _timer?.Dispose();
        }
    }
}
