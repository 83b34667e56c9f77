namespace LoadBalancer.Core.Health;

// A sliding window of 10 one-second buckets, each counting first tries and retries. A retry is allowed while
// retries in the window < MinRetries + ratio * requests in the window, so in a full outage retries add at most
// `ratio` to the load (plus the floor), instead of multiplying it by the number of attempts (Finagle/Linkerd-style
// budget). Lock-free: Interlocked counters; a bucket is reset by the first thread that enters a new second, and
// the increments racing that reset may be lost, which only makes the budget approximate by a request or two.

/// <summary>A pool's retry budget: a share of its requests over a 10 s sliding window, counted with Interlocked only.</summary>
internal sealed class RetryBudget
{
    /// <summary>Retries always allowed per window, so a quiet pool can still retry its few failures.</summary>
    internal const int MinRetries = 10;

    private const int Buckets = 10;

    private readonly TimeProvider _clock;
    private readonly long[] _seconds = new long[Buckets];
    private readonly int[] _requests = new int[Buckets];
    private readonly int[] _retries = new int[Buckets];
    private long _retriesTotal;
    private long _retriesDenied;

    public RetryBudget(TimeProvider clock)
    {
        _clock = clock;
        Array.Fill(_seconds, long.MinValue);
    }

    /// <summary>Retries granted since start.</summary>
    public long RetriesTotal => Interlocked.Read(ref _retriesTotal);

    /// <summary>Retries refused by the budget since start.</summary>
    public long RetriesDenied => Interlocked.Read(ref _retriesDenied);

    /// <summary>Counts a first try.</summary>
    public void OnRequest() => Interlocked.Increment(ref _requests[Enter()]);

    /// <summary>
    /// Takes one retry from the budget; false (and counted as denied) when it is spent. The ratio comes from the
    /// caller's snapshot, so compiling a reload (or a dry run of one) never changes the live budget.
    /// </summary>
    public bool TryRetry(double ratio)
    {
        var bucket = Enter();
        var now = Volatile.Read(ref _seconds[bucket]);
        long requests = 0;
        long retries = 0;
        for (var i = 0; i < Buckets; i++)
        {
            if (now - Volatile.Read(ref _seconds[i]) < Buckets)
            {
                requests += Volatile.Read(ref _requests[i]);
                retries += Volatile.Read(ref _retries[i]);
            }
        }

        if (retries >= MinRetries + (ratio * requests))
        {
            Interlocked.Increment(ref _retriesDenied);
            return false;
        }

        Interlocked.Increment(ref _retries[bucket]);
        Interlocked.Increment(ref _retriesTotal);
        return true;
    }

    /// <summary>Index of the current second's bucket, resetting it when it still holds an older second.</summary>
    private int Enter()
    {
        var second = _clock.GetTimestamp() / _clock.TimestampFrequency;
        var bucket = (int)(second % Buckets);
        var seen = Volatile.Read(ref _seconds[bucket]);
        if (seen != second && Interlocked.CompareExchange(ref _seconds[bucket], second, seen) == seen)
        {
            Volatile.Write(ref _requests[bucket], 0);
            Volatile.Write(ref _retries[bucket], 0);
        }

        return bucket;
    }
}
