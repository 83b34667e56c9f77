namespace LoadBalancer.Core.Consumers;

/// <summary>
/// A consumer's requests in the current quota period (<c>quota = { requests, period }</c>), reset on UTC calendar
/// boundaries. The hot path is one <see cref="Interlocked.Increment(ref long)"/> on the current window, which is
/// already loaded, and a timestamp compared with the window's end; a refusal takes the request back. When the period
/// is over, the first request to notice swaps in a new window (one allocation per period, a CAS): requests counted in
/// the old window a moment before stay in the period they were made in. Lock-free.
/// </summary>
public sealed class QuotaCounter
{
    private readonly TimeProvider _clock;
    private Window _window;

    public QuotaCounter(QuotaPeriod period, TimeProvider clock)
    {
        Period = period;
        _clock = clock;
        _window = Open(clock.GetUtcNow().UtcDateTime);
    }

    public QuotaPeriod Period { get; }

    /// <summary>Set by the usage ledger once it has added the stored requests of the period (only its writer reads it).</summary>
    internal bool Restored { get; set; }

    /// <summary>The current period's window (rolled over first when its end has passed).</summary>
    public Window Current
    {
        get
        {
            var window = Volatile.Read(ref _window);
            return _clock.GetTimestamp() < window.EndTimestamp ? window : Roll(window);
        }
    }

    /// <summary>Counts one request in the current window; returns that window and its count including this request.</summary>
    public long Take(out Window window)
    {
        window = Current;
        return Interlocked.Increment(ref window.UsedField);
    }

    /// <summary>Takes back a request counted by <see cref="Take"/> that was not admitted after all.</summary>
    public static void Give(Window window) => Interlocked.Decrement(ref window.UsedField);

    /// <summary>Adds requests recorded before this process started (the usage ledger) to the window of their period, if it is the current one.</summary>
    public void Restore(DateTime periodStartUtc, long requests)
    {
        var window = Current;
        if (window.Start == periodStartUtc)
        {
            Interlocked.Add(ref window.UsedField, requests);
        }
    }

    /// <summary>Seconds until the current period ends (at least 1), for Retry-After and RateLimit's t.</summary>
    public long SecondsLeft(Window window)
    {
        var left = window.End - _clock.GetUtcNow().UtcDateTime;
        return Math.Max(1, (long)Math.Ceiling(left.TotalSeconds));
    }

    private Window Roll(Window seen)
    {
        var next = Open(_clock.GetUtcNow().UtcDateTime);
        var current = Interlocked.CompareExchange(ref _window, next, seen);
        return ReferenceEquals(current, seen) ? next : current;
    }

    private Window Open(DateTime utcNow)
    {
        var start = QuotaPeriods.StartOf(Period, utcNow);
        var end = QuotaPeriods.Next(Period, start);
        var ticksLeft = (end - utcNow).Ticks;
        var endTimestamp = _clock.GetTimestamp() + (long)(ticksLeft * (double)_clock.TimestampFrequency / TimeSpan.TicksPerSecond);
        return new Window(start, end, endTimestamp);
    }

    /// <summary>One period: its UTC bounds, its end on the clock's timestamp scale, and the requests counted in it.</summary>
    public sealed class Window(DateTime start, DateTime end, long endTimestamp)
    {
        internal long UsedField;

        public DateTime Start { get; } = start;

        public DateTime End { get; } = end;

        public long EndTimestamp { get; } = endTimestamp;

        public long Used => Interlocked.Read(ref UsedField);

        /// <summary>The period's length in seconds (a month's varies).</summary>
        public long Seconds => (long)(End - Start).TotalSeconds;
    }
}
