using System.Collections.Concurrent;

namespace LoadBalancer.Core.Transport;

/// <summary>
/// Expires <see cref="DeadlineTimer"/>s every <see cref="DeadlineTimer.Resolution"/>: the timers of sessions, found
/// through the engine's session walk (no registration per connection), and the few standalone timers that registered
/// here on first use. One per engine; its timer thread stops when the engine is disposed.
/// </summary>
internal sealed class TimerSweep : IDisposable
{
    private readonly ConcurrentDictionary<DeadlineTimer, byte> _standalone = new();
    private readonly List<DeadlineTimer> _due = [];
    private readonly Action<long, List<DeadlineTimer>> _collectOwned;
    private readonly Timer _timer;
    private int _sweeping;

    /// <param name="collectOwned">Adds the due timers of every session the engine serves (see <see cref="IChannelOwner.CollectDue"/>).</param>
    public TimerSweep(Action<long, List<DeadlineTimer>> collectOwned)
    {
        _collectOwned = collectOwned;
        _timer = new Timer(static s => ((TimerSweep)s!).Sweep(), this, DeadlineTimer.Resolution, DeadlineTimer.Resolution);
    }

    internal void Add(DeadlineTimer timer) => _standalone.TryAdd(timer, 0);

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

            _collectOwned(now, _due);

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

    public void Dispose() => _timer.Dispose();
}
