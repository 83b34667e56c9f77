namespace LoadBalancer.Core.Health;

// A sliding window of 10 one-second buckets, each counting first tries and retries. A retry is allowed while
// retries in the window < MinRetries + ratio * requests in the window, so in a full outage retries add at most
// `ratio` to the load (plus the floor), instead of multiplying it by the number of attempts (Finagle/Linkerd-style
// budget). Lock-free: Interlocked counters; a bucket is reset by the first thread that enters a new second, and
// the increments racing that reset may be lost, which only makes the budget approximate by a request or two.

/// <summary>
/// A pool's retry budget: a share of its requests over a 10 s sliding window, counted with Interlocked only. First tries
/// are counted per event loop (<see cref="Counters.LoopCounters"/>: each copy keeps its own ten buckets and their
/// seconds), so a busy pool's every request does not write one shared cache line; a retry sums the copies.
/// </summary>
internal sealed class RetryBudget
{
    // Per loop: the second each bucket holds, then the bucket's first tries.
    private const int RequestsAt = Buckets;
    private readonly Counters.LoopCounters _firstTries = new(2 * Buckets);

    /// <summary>Retries always allowed per window, so a quiet pool can still retry its few failures.</summary>
    internal const int MinRetries = 10;

    private const int Buckets = 10;

    private readonly TimeProvider _clock;
    private readonly long[] _seconds = new long[Buckets];
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

    /// <summary>Counts a first try, in the running loop's copy (resetting its bucket when it still holds an older second).</summary>
    public void OnRequest()
    {
        var second = Second();
        var bucket = (int)(second % Buckets);
        var mine = _firstTries.LocalCopy();
        var seen = Volatile.Read(ref mine[bucket]);
        if (seen != second && Interlocked.CompareExchange(ref mine[bucket], second, seen) == seen)
        {
            Volatile.Write(ref mine[RequestsAt + bucket], 0);
        }

        Interlocked.Increment(ref mine[RequestsAt + bucket]);
    }

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
                retries += Volatile.Read(ref _retries[i]);
            }
        }

        for (var shard = 0; shard < _firstTries.CopySlots; shard++)
        {
            var copy = _firstTries.Copy(shard);
            for (var i = 0; i < Buckets && !copy.IsEmpty; i++)
            {
                if (now - copy[i] < Buckets)
                {
                    requests += copy[RequestsAt + i];
                }
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

    private long Second() => _clock.GetTimestamp() / _clock.TimestampFrequency;

    /// <summary>Index of the current second's retry bucket, resetting it when it still holds an older second.</summary>
    private int Enter()
    {
        var second = Second();
        var bucket = (int)(second % Buckets);
        var seen = Volatile.Read(ref _seconds[bucket]);
        if (seen != second && Interlocked.CompareExchange(ref _seconds[bucket], second, seen) == seen)
        {
            Volatile.Write(ref _retries[bucket], 0);
        }

        return bucket;
    }
}
