using LoadBalancer.Core.Routing;

namespace LoadBalancer.Core.Balancing;

// Algorithm: weighted least-connections (HAProxy's fwlc keys servers by in-flight / weight). Pick the available
// backend with the smallest InFlight (requests in flight) / Weight, compared by cross-multiplication (a1 * w2 < a2 * w1, in long)
// so there is no division and no rounding. Ties go to the first backend met, and the scan starts one place later on
// every pick, so equally loaded backends take turns instead of the first one absorbing every burst.
// Cost per pick: one Interlocked.Increment on this loop's rotation counter plus one pass over N backends (a volatile
// bool and this loop's in-flight count each).
// State read: the immutable backend and weight arrays, the rotation counter, each backend's IsAvailable and
// InFlightHere. The counts are read without a snapshot, so concurrent picks can both see the same minimum;
// that is inherent to lock-free least-connections and evens out as the picked requests are counted.
// Per loop (issue 15): each event loop balances its own requests. InFlightHere is exact for the requests this loop
// has in flight (a request leaves the count it entered, whatever thread ends it), and the pick reads only cache lines
// this loop writes; what it does not see is the other loops' requests. That is the staleness it tolerates: the pick is
// the least-connections choice over this loop's requests, which the kernel's SO_REUSEPORT spread makes a similar
// share on every loop (Envoy's workers balance the same way). Under max_connections_per_backend every loop's
// requests count in one shared, exact field, so a capped pool balances on the global counts. Off every loop (.NET's
// engine), the global count.
// Slow start: a ramping backend takes part in a pick only for a share of picks equal to its ramp (a hash of the
// rotation ticket); it is still returned when nothing else is eligible.

/// <summary>Weighted least-connections; lock-free and allocation-free per pick, O(N) per pick.</summary>
internal sealed class LeastConnectionsBalancer : IBalancer
{
    // Backend and weight side by side: one array, one bounds check and one cache line per candidate. The weight is
    // copied at Create so a reload that swaps BackendState.Config mid-pick cannot change the comparison halfway.
    private readonly Entry[] _entries;

    private readonly Counters.LoopCounters _rotation = new(1);

    public LeastConnectionsBalancer(IReadOnlyList<BackendState> backends)
    {
        var copy = BackendScan.CopyValidated(backends);
        _entries = new Entry[copy.Length];
        for (var i = 0; i < copy.Length; i++)
        {
            _entries[i] = new Entry(copy[i], copy[i].Weight);
        }
    }

    public BackendState? Pick(in PickContext context)
    {
        var entries = _entries;
        var n = entries.Length;
        if (n == 0)
        {
            return null;
        }

        var avoid = context.Avoid;
        var ticket = (uint)(_rotation.Increment(0) - 1);
        var i = (int)(ticket % (uint)n);
        var bestIndex = -1;
        var rampSkipped = -1;
        long bestActive = 0;
        long bestWeight = 1;
        var avoidAvailable = false;
        for (var k = 0; k < n; k++)
        {
            ref readonly var entry = ref entries[i];
            var b = entry.Backend;
            if (b.IsAvailable)
            {
                if (b != avoid && !b.AcceptsPick(BackendState.Draw(((ulong)ticket << 16) + (uint)i)))
                {
                    rampSkipped = i;
                }
                else if (b != avoid)
                {
                    long active = b.InFlightHere;
                    long weight = entry.Weight;
                    if (bestIndex < 0 || active * bestWeight < bestActive * weight)
                    {
                        bestIndex = i;
                        bestActive = active;
                        bestWeight = weight;
                    }
                }
                else
                {
                    avoidAvailable = true;
                }
            }

            if (++i == n)
            {
                i = 0;
            }
        }

        if (bestIndex >= 0)
        {
            return entries[bestIndex].Backend;
        }

        if (rampSkipped >= 0)
        {
            return entries[rampSkipped].Backend;
        }

        // Same Avoid rule as every policy (see BackendScan).
        return avoidAvailable && context.Attempt == 0 ? avoid : null;
    }

    private readonly record struct Entry(BackendState Backend, long Weight);
}
