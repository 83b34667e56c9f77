using System.Collections.Concurrent;

namespace LoadBalancer.Core.Transport;

/// <summary>
/// A per-connection timeout that is cheap to re-arm: arming writes one deadline field instead of changing a
/// <see cref="Timer"/> (which takes the runtime's timer-queue lock; a request re-armed timers about five times).
/// One process-wide sweep every <see cref="Resolution"/> cancels the token of every timer past its deadline, so a
/// timeout fires up to that much late — fine for timeouts measured in hundreds of milliseconds or more.
/// </summary>
internal sealed class DeadlineTimer : IDisposable
{
    public static readonly TimeSpan Resolution = TimeSpan.FromMilliseconds(25);

    private static readonly ConcurrentDictionary<DeadlineTimer, byte> Live = new();
    private static readonly Timer Sweeper = new(static _ => Sweep(), null, Resolution, Resolution);

    private readonly CancellationTokenSource _source = new();
    private long _deadline = long.MaxValue;
    private int _registered;

    public CancellationToken Token => _source.Token;

    public bool IsCancellationRequested => _source.IsCancellationRequested;

    public void Arm(TimeSpan timeout)
    {
        if (timeout == Timeout.InfiniteTimeSpan)
        {
            Disarm();
            return;
        }

        // Registered on first use only, so a connection that never needs this timer costs the sweep nothing.
        if (_registered == 0)
        {
            _registered = 1;
            Live.TryAdd(this, 0);
            GC.KeepAlive(Sweeper);
        }

        Volatile.Write(ref _deadline, Environment.TickCount64 + (long)timeout.TotalMilliseconds);
    }

    public void Disarm() => Volatile.Write(ref _deadline, long.MaxValue);

    private static void Sweep()
    {
        var now = Environment.TickCount64;
        foreach (var (timer, _) in Live)
        {
            if (now >= Volatile.Read(ref timer._deadline))
            {
                Volatile.Write(ref timer._deadline, long.MaxValue);
                try
                {
                    timer._source.Cancel();
                }
                catch (ObjectDisposedException)
                {
                    // Disposed between the read and the cancel: the connection is gone already.
                }
            }
        }
    }

    public void Dispose()
    {
        if (_registered != 0)
        {
            Live.TryRemove(this, out _);
        }

        _source.Dispose();
    }
}
