namespace LoadBalancer.Core.Counters;

/// <summary>
/// A count that goes up and down (requests in flight, connections), kept per loop like <see cref="LoopCounters"/>
/// unless a limit needs it exact: <see cref="TryEnter"/> with a limit counts in one shared field with a CAS, since a
/// cap compared against a sum of per-loop copies could be passed by every loop at once. <see cref="Value"/> is the
/// shared field plus every loop's copy.
/// </summary>
/// <remarks>
/// <see cref="Enter"/> and <see cref="TryEnter"/> return a token that the matching <see cref="Exit(int)"/> takes, so
/// that a count leaves the copy it entered (never drifts between loops, even when a request ends on another thread),
/// and one entered before a reload added or removed a limit still leaves the right field. A limit can therefore be
/// passed only by requests that entered before it was set, until they finish. <see cref="Exit()"/>, for callers that
/// cannot keep the token, takes the count from the shared field while it is positive, else from the running thread's
/// copy: the total stays exact, and a limit exact once every request from before a limit change has finished.
/// </remarks>
internal sealed class LoopGauge
{
    /// <summary>The token of a count held in the shared, limited field.</summary>
    public const int Shared = -1;

    private readonly LoopCounters _copies = new(1);
    private int _shared;

    /// <summary>Counted in the running thread's copy; no limit.</summary>
    public int Enter() => _copies.AddHere(0, 1);

    /// <summary>Counted in the shared field if fewer than <paramref name="max"/> are there; <see cref="Shared"/>, or null when full.</summary>
    public int? TryEnter(int max)
    {
        var current = Volatile.Read(ref _shared);
        while (current < max)
        {
            var seen = Interlocked.CompareExchange(ref _shared, current + 1, current);
            if (seen == current)
            {
                return Shared;
            }

            current = seen;
        }

        return null;
    }

    public void Exit(int token)
    {
        if (token == Shared)
        {
            Interlocked.Decrement(ref _shared);
        }
        else
        {
            _copies.AddAt(token, 0, -1);
        }
    }

    /// <summary>Without the token: the shared field while it holds any, else the running thread's copy.</summary>
    public void Exit()
    {
        var current = Volatile.Read(ref _shared);
        while (current > 0)
        {
            var seen = Interlocked.CompareExchange(ref _shared, current - 1, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }

        _copies.Add(0, -1);
    }

    /// <summary>The exact count: the shared field and every copy.</summary>
    public int Value => Volatile.Read(ref _shared) + (int)_copies.Sum(0);

    /// <summary>
    /// What the running loop itself has in: the shared field (limited counts, from every loop) plus this loop's copy.
    /// Off every loop, the exact <see cref="Value"/>.
    /// </summary>
    public int ValueHere => LoopShard.CurrentLoop < 0 ? Value : Volatile.Read(ref _shared) + (int)_copies.Here(0);
}
