namespace LoadBalancer.Core.Transport;

/// <summary>
/// A per-connection timeout that is cheap to re-arm: arming writes one deadline field instead of changing a
/// <see cref="Timer"/> (which takes the runtime's timer-queue lock; a request re-armed timers about five times).
/// The engine's sweep (<see cref="TimerSweep"/>) every <see cref="Resolution"/> expires every timer past its deadline, so a timeout fires up
/// to that much late — fine for timeouts measured in hundreds of milliseconds or more.
/// Socket operations of a <see cref="SocketChannel"/> take the timer itself: an expired timer fails the operations of
/// the (at most two) channels that last waited on it. No CancellationTokenSource or registration is needed for that,
/// which was about 450 bytes per idle connection; <see cref="Token"/> makes one only for callers that need a token.
/// </summary>
internal sealed class DeadlineTimer : IDisposable
{
    public static readonly TimeSpan Resolution = TimeSpan.FromMilliseconds(25);

    private readonly TimerSweep _sweep;
    private readonly bool _sweptByOwner;

    private CancellationTokenSource? _source;
    private SocketChannel? _watchedA;
    private SocketChannel? _watchedB;
    private long _deadline = long.MaxValue;
    private int _registered;
    private volatile bool _expired;

    /// <param name="sweep">The engine's sweep (see <see cref="TimerSweep"/>).</param>
    /// <param name="sweptByOwner">
    /// The owner is a session the engine walks: the sweep finds the timer through it
    /// (<see cref="Transport.IChannelOwner.CollectDue"/>), and the timer needs no entry of its own in the standalone set
    /// (about 100 bytes per connection with two timers).
    /// </param>
    public DeadlineTimer(TimerSweep sweep, bool sweptByOwner = false)
    {
        _sweep = sweep;
        _sweptByOwner = sweptByOwner;
    }

    /// <summary>A token cancelled when the timer expires; created on first use.</summary>
    public CancellationToken Token
    {
        get
        {
            if (_source is null)
            {
                var source = new CancellationTokenSource();
                if (Interlocked.CompareExchange(ref _source, source, null) is not null)
                {
                    source.Dispose();
                }
                else if (_expired)
                {
                    source.Cancel();
                }
            }

            return _source!.Token;
        }
    }

    /// <summary>True once the timer expired (it is never re-armed after that: the connection ends).</summary>
    public bool IsCancellationRequested => _expired;

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
            if (!_sweptByOwner)
            {
                _sweep.Add(this);
            }
        }

        Volatile.Write(ref _deadline, Environment.TickCount64 + (long)timeout.TotalMilliseconds);
    }

    public void Disarm() => Volatile.Write(ref _deadline, long.MaxValue);

    /// <summary>Called by a channel that starts an operation bounded by this timer.</summary>
    public void Watch(SocketChannel channel)
    {
        if (_watchedA == channel || _watchedB == channel)
        {
            return;
        }

        // The client channel comes first and stays; the second place follows the backend connection in use.
        if (_watchedA is null)
        {
            _watchedA = channel;
        }
        else
        {
            _watchedB = channel;
        }
    }

    /// <summary>
    /// Before a disarmed, unexpired timer serves another connection (a lent <see cref="Http1.Http1RequestState"/>):
    /// the channels it watched belong to the previous one.
    /// </summary>
    public void ForgetWatchedChannels()
    {
        Disarm();
        _watchedA = null;
        _watchedB = null;
    }

    /// <summary>For the sweep: true (once) when the deadline has passed; the caller then expires the timer.</summary>
    public bool TakeIfDue(long now)
    {
        if (now < Volatile.Read(ref _deadline))
        {
            return false;
        }

        Volatile.Write(ref _deadline, long.MaxValue);
        return true;
    }

    internal void Expire()
    {
        _expired = true;

        // Pairs with the fence a channel operation makes after naming its timer: either the operation sees the
        // expiry, or this sees the operation.
        Interlocked.MemoryBarrier();
        try
        {
            Volatile.Read(ref _source)?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Disposed between the read and the cancel: the connection is gone already.
        }

        _watchedA?.OnTimerExpired(this);
        _watchedB?.OnTimerExpired(this);
    }

    public void Dispose()
    {
        if (_registered != 0 && !_sweptByOwner)
        {
            _sweep.Remove(this);
        }

        _watchedA = null;
        _watchedB = null;
        _source?.Dispose();
    }
}
