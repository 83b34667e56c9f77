using LoadBalancer.Core.Routing;

namespace LoadBalancer.Core.Balancing;

// Algorithm: smooth weighted round-robin (nginx's ngx_http_upstream_get_peer). Create runs nginx's
// "add weight to every current, take the max, subtract the total" loop once per slot and stores the resulting
// order, e.g. weights 5,1,1 -> a a b a c a a, so a heavy backend's turns are spread out, not bunched.
// Cost per pick: one Interlocked.Increment and two array reads in the normal case; a skipped (unavailable or Avoid)
// slot costs another increment, up to MaxDraws, then an O(N) scan and an O(sequence) walk.
// State read: the immutable sequence and backend arrays, the counter, and each candidate's IsAvailable.
// The counter is kept per event loop (issue 15): each loop walks the sequence on its own (as nginx's workers and
// Envoy's do), so a pick writes no cache line another loop writes; every loop's picks follow the weights, and so does
// their sum. Loop i starts i/loops of the way into the sequence, so that a burst spread over the loops does not send
// every loop's first pick to the same backend. Off every loop (tests, .NET's engine) the walk starts at firstTicket.
// Slow start: a ramping backend accepts a drawn slot only for a share of tickets equal to its ramp (a hash of the
// ticket), otherwise the slot is redrawn like an unavailable one; the degraded walk ignores the ramp.
//
// Redrawing from the shared counter, rather than stepping to the next slot locally, keeps the shares of the
// remaining backends proportional to their weights while some are down: the slots a down backend leaves are
// consumed by nobody instead of all going to whoever follows it in the sequence.

/// <summary>
/// Smooth weighted round-robin over a sequence precomputed in the constructor; lock-free and allocation-free per pick.
/// </summary>
internal sealed class RoundRobinBalancer : IBalancer
{
    /// <summary>Sequences longer than this are scaled down proportionally (every backend keeps at least one slot).</summary>
    internal const int MaxSequenceLength = 65_536;

    private const int MaxDraws = 3;

    private readonly BackendState[] _backends;
    private readonly int[] _sequence;

    // Tickets are _firstTicket + this loop's count: read as uint, wrapping past int.MaxValue keeps indices
    // non-negative; the one wrap of 2^32 only shifts the phase.
    private readonly Counters.LoopCounters _counter = new(1);
    private readonly uint _firstTicket;
    private readonly uint _loopPhase;

    public RoundRobinBalancer(IReadOnlyList<BackendState> backends)
        : this(backends, firstTicket: 0)
    {
    }

    /// <summary>Starts the counter at <paramref name="firstTicket"/>; tests use it to cross the wrap-around points.</summary>
    internal RoundRobinBalancer(IReadOnlyList<BackendState> backends, uint firstTicket)
    {
        _backends = BackendScan.CopyValidated(backends);
        _sequence = BuildSequence(_backends);
        _firstTicket = firstTicket;
        _loopPhase = (uint)(_sequence.Length / Math.Max(1, Counters.LoopShard.ArrayLength - 1));
    }

    /// <summary>The precomputed order as indices into the backend list; exposed for tests.</summary>
    internal ReadOnlySpan<int> Sequence => _sequence;

    public BackendState? Pick(in PickContext context)
    {
        var sequence = _sequence;
        var backends = _backends;
        if (sequence.Length == 0)
        {
            return null;
        }

        var length = (uint)sequence.Length;
        uint slot = 0;
        for (var draw = 0; draw < MaxDraws; draw++)
        {
            var ticket = unchecked(_firstTicket + (uint)(_counter.Increment(0) - 1) + (_loopPhase * (uint)Math.Max(0, Counters.LoopShard.CurrentLoop)));
            slot = ticket % length;
            var b = backends[sequence[slot]];
            if (b.IsAvailable && b != context.Avoid && b.AcceptsPick(BackendState.Draw(ticket)))
            {
                return b;
            }
        }

        return PickDegraded(slot, in context);
    }

    // Most of the weight is out (or Avoid took several draws). Check once that anything is eligible, so an all-down
    // pool costs O(N) rather than a walk over the whole sequence, then walk on from the last slot to keep weights.
    private BackendState? PickDegraded(uint slot, in PickContext context)
    {
        var backends = _backends;
        var sequence = _sequence;
        var fallback = BackendScan.FirstEligible(backends, sequence[slot], in context);
        if (fallback is null || fallback == context.Avoid)
        {
            return fallback;
        }

        var length = (uint)sequence.Length;
        for (uint k = 1; k < length; k++)
        {
            var b = backends[sequence[(slot + k) % length]];
            if (b.IsAvailable && b != context.Avoid)
            {
                return b;
            }
        }

        // Availability changed under the walk; the scan's answer is still a valid pick.
        return fallback;
    }

    internal static int[] BuildSequence(BackendState[] backends)
    {
        var n = backends.Length;
        if (n == 0)
        {
            return [];
        }

        var weights = new long[n];
        for (var i = 0; i < n; i++)
        {
            weights[i] = backends[i].Weight;
        }

        ReduceByGcd(weights);
        var total = Sum(weights);
        if (total > MaxSequenceLength && total > n)
        {
            // Proportional scale-down; the floor of 1 can push the sum slightly over the cap, which is harmless.
            var target = Math.Max(MaxSequenceLength, n);
            for (var i = 0; i < n; i++)
            {
                weights[i] = Math.Max(1, weights[i] * target / total);
            }

            ReduceByGcd(weights);
            total = Sum(weights);
        }

        var sequence = new int[total];
        var current = new long[n];
        for (var slot = 0; slot < sequence.Length; slot++)
        {
            var best = 0;
            for (var i = 0; i < n; i++)
            {
                current[i] += weights[i];
                if (current[i] > current[best])
                {
                    best = i;
                }
            }

            current[best] -= total;
            sequence[slot] = best;
        }

        return sequence;
    }

    private static void ReduceByGcd(long[] weights)
    {
        var gcd = 0L;
        foreach (var w in weights)
        {
            gcd = Gcd(gcd, w);
        }

        if (gcd > 1)
        {
            for (var i = 0; i < weights.Length; i++)
            {
                weights[i] /= gcd;
            }
        }
    }

    private static long Gcd(long a, long b)
    {
        while (b != 0)
        {
            (a, b) = (b, a % b);
        }

        return a;
    }

    private static long Sum(long[] weights)
    {
        var sum = 0L;
        foreach (var w in weights)
        {
            sum += w;
        }

        return sum;
    }
}
