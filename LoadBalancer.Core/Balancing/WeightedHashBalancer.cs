using System.IO.Hashing;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using LoadBalancer.Core.Routing;

namespace LoadBalancer.Core.Balancing;

// Algorithm: weighted consistent hashing (ketama-style ring). Each backend owns PointsPerWeight * weight / minWeight
// virtual nodes, placed at XxHash3(UTF-8 address, seed = replica index); the ring is capped at MaxRingPoints by
// scaling every count down proportionally. A key goes to the owner of the first point clockwise from
// XxHash3(key). When that owner is unavailable or Avoid, the walk goes on clockwise to the next distinct eligible
// owner, which is exactly where the key would land on a ring built without the ineligible backends: keys on the
// healthy backends never move. Points depend only on a backend's own address and weight (relative to the pool's
// smallest), so adding or removing one backend of N moves only ~1/N of the keys, and only to or from it.
// An empty key (nothing to hash) takes the next ring point from a rotating counter: over one turn of the ring every
// backend gets exactly its share of points, so key-less picks still follow the weights.
// Optional bounded load (HAProxy's hash-balance-factor): with factor F, a backend is eligible only while
// active * 100 * totalWeight < (totalActive + 1) * F * weight, so no backend takes more than F% of its fair share
// of the in-flight requests; its keys then spill clockwise. Off (0) by default.
// Cost per pick: XxHash3 of the key, one bucket-table load and a binary search over that bucket's 2-4 points;
// a short clockwise walk when the owner is out; with bounded load, one extra O(N) pass to total the in-flight counts.
// State read: the immutable ring, owner and backend arrays, IsAvailable of the candidates (and InFlightHere
// with bounded load), the rotation counter for empty keys (kept per event loop).
// Per loop (issue 15): with bounded load each event loop bounds the requests it has in flight itself (InFlightHere:
// exact for this loop, the global count under max_connections_per_backend or off every loop), as least-connections
// does; a backend then takes at most F% of its fair share of every loop's requests, and so of their sum.
// Slow start: a ramping owner keeps a key only when the key hash's low bits fall inside its ramp, else the walk goes
// on clockwise; as the ramp grows the backend regains a growing, fixed subset of its keys.

/// <summary>Weighted consistent hashing over a ring of virtual nodes; lock-free and allocation-free per pick.</summary>
internal sealed class WeightedHashBalancer : IBalancer
{
    /// <summary>Virtual nodes of a backend carrying the pool's smallest weight.</summary>
    internal const int DefaultPointsPerWeight = 1024;

    /// <summary>Cap on the ring size (8 bytes of hash + 4 of owner per point): ~2.4 MB per pool at most.</summary>
    internal const int MaxRingPoints = 200_000;

    // Beyond this many ring points without an eligible owner, most of the pool is out: finish with an O(N) scan.
    private const int MaxWalk = 64;

    private readonly BackendState[] _backends;
    private readonly int[] _weights;
    private readonly ulong[] _points;
    private readonly int[] _owners;

    // _buckets[b] = index of the first point whose top _bucketBits bits are >= b (length 2^bits + 1, last = ring
    // size): one load narrows the search to 2-4 points, so a big ring costs two or three cache misses, not eighteen.
    private readonly int[] _buckets;
    private readonly int _bucketShift;
    private readonly int _balanceFactor;

    private readonly Counters.LoopCounters _rotation = new(1);

    /// <param name="backends">The pool's backends.</param>
    /// <param name="pointsPerWeight">Virtual nodes for the smallest weight; more points, evener shares, bigger ring.</param>
    /// <param name="balanceFactor">0 = off; otherwise >= 100, the percentage of its fair in-flight share a backend may take.</param>
    public WeightedHashBalancer(IReadOnlyList<BackendState> backends, int pointsPerWeight = DefaultPointsPerWeight, int balanceFactor = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pointsPerWeight, 1);
        if (balanceFactor is not 0 and < 100)
        {
            throw new ArgumentOutOfRangeException(nameof(balanceFactor), balanceFactor, "The balance factor is 0 (off) or at least 100.");
        }

        _backends = BackendScan.CopyValidated(backends);
        _weights = new int[_backends.Length];
        for (var i = 0; i < _weights.Length; i++)
        {
            _weights[i] = _backends[i].Weight;
        }

        _balanceFactor = balanceFactor;
        (_points, _owners) = BuildRing(_backends, _weights, pointsPerWeight);
        (_buckets, _bucketShift) = BuildBuckets(_points);
    }

    /// <summary>Number of virtual nodes on the ring; exposed for tests.</summary>
    internal int RingSize => _points.Length;

    public BackendState? Pick(in PickContext context)
    {
        var points = _points;
        if (points.Length == 0)
        {
            return null;
        }

        var key = context.HashKey;
        int start;
        uint draw;
        if (key.IsEmpty)
        {
            var ticket = (uint)(_rotation.Increment(0) - 1);
            start = (int)(ticket % (uint)points.Length);
            draw = BackendState.Draw(ticket);
        }
        else
        {
            var hash = XxHash3.HashToUInt64(key);
            start = Successor(points, _buckets, _bucketShift, hash);

            // The ring position comes from the high bits; the low bits decide slow start, so a ramping backend gets
            // back a fixed, growing subset of its keys (sticky while it ramps).
            draw = (uint)hash;
        }

        var owner = _backends[_owners[start]];
        if (_balanceFactor == 0 && owner.IsAvailable && owner != context.Avoid && owner.AcceptsPick(draw))
        {
            return owner;
        }

        return Walk(start, draw, in context);
    }

    /// <summary>Index of the first point at or after <paramref name="hash"/>, wrapping past the end to 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int Successor(ulong[] points, int[] buckets, int bucketShift, ulong hash)
    {
        // A shift of 64 would be masked to 0 by the CPU; one bucket (shift 64) is spelled as bucket 0 instead.
        var bucket = bucketShift >= 64 ? 0 : (int)(hash >> bucketShift);
        nint lo = buckets[bucket];
        nint length = buckets[bucket + 1] - lo;

        // Branch-free lower bound in the bucket: the ternary compiles to a conditional move, so the ~50/50
        // comparisons of a hash search cost no mispredictions.
        ref var first = ref MemoryMarshal.GetArrayDataReference(points);
        if (length > 0)
        {
            while (length > 1)
            {
                var half = length >> 1;
                lo = Unsafe.Add(ref first, lo + half) < hash ? lo + half : lo;
                length -= half;
            }

            if (Unsafe.Add(ref first, lo) < hash)
            {
                lo++;
            }
        }

        return lo == points.Length ? 0 : (int)lo;
    }

    /// <summary>Bucket table for <see cref="Successor"/>: two to four ring points per bucket.</summary>
    internal static (int[] Buckets, int Shift) BuildBuckets(ulong[] points)
    {
        var bits = points.Length < 4 ? 0 : BitOperations.Log2((uint)points.Length) - 1;
        var count = 1 << bits;
        var shift = 64 - bits;
        var buckets = new int[count + 1];
        var p = 0;
        for (var b = 0; b < count; b++)
        {
            while (p < points.Length && (bits == 0 ? 0 : (int)(points[p] >> shift)) < b)
            {
                p++;
            }

            buckets[b] = p;
        }

        buckets[count] = points.Length;
        return (buckets, shift);
    }

    private BackendState? Walk(int start, uint draw, in PickContext context)
    {
        var backends = _backends;
        var owners = _owners;
        var weights = _weights;
        var length = owners.Length;

        long totalActive = 0;
        long totalWeight = 0;
        var bounded = _balanceFactor != 0;
        if (bounded)
        {
            foreach (var b in backends)
            {
                if (b.IsAvailable)
                {
                    totalActive += b.InFlightHere;
                }
            }

            foreach (var w in weights)
            {
                totalWeight += w;
            }
        }

        // The first eligible owner ignoring load and ramp: the answer when every backend in reach is over its bound.
        var firstAvailable = -1;
        var previous = -1;
        var steps = Math.Min(length, MaxWalk);
        var index = start;
        for (var k = 0; k < steps; k++)
        {
            var ownerIndex = owners[index];
            if (ownerIndex != previous)
            {
                previous = ownerIndex;
                var b = backends[ownerIndex];
                if (b.IsAvailable && b != context.Avoid)
                {
                    // A ramping owner outside its share for this key is passed like an overloaded one.
                    if (b.AcceptsPick(draw) && (!bounded || UnderBound(b.InFlightHere, weights[ownerIndex], totalActive, totalWeight)))
                    {
                        return b;
                    }

                    if (firstAvailable < 0)
                    {
                        firstAvailable = ownerIndex;
                    }
                }
            }

            if (++index == length)
            {
                index = 0;
            }
        }

        return ScanFrom(owners[start], firstAvailable, totalActive, totalWeight, in context);
    }

    // Starting from the key's own owner keeps the answer a function of (key, availability), so even in this
    // degraded state a key sticks to one backend.
    private BackendState? ScanFrom(int startOwner, int firstAvailable, long totalActive, long totalWeight, in PickContext context)
    {
        var backends = _backends;
        if (_balanceFactor != 0)
        {
            var n = backends.Length;
            var i = startOwner;
            for (var k = 0; k < n; k++)
            {
                var b = backends[i];
                if (b.IsAvailable && b != context.Avoid && UnderBound(b.InFlightHere, _weights[i], totalActive, totalWeight))
                {
                    return b;
                }

                if (++i == n)
                {
                    i = 0;
                }
            }

            if (firstAvailable >= 0)
            {
                return backends[firstAvailable];
            }
        }

        return BackendScan.FirstEligible(backends, startOwner, in context);
    }

    // HAProxy's chash_server_is_eligible: active < (totalActive + 1) * factor/100 * weight/totalWeight, multiplied out.
    private bool UnderBound(long active, long weight, long totalActive, long totalWeight) =>
        active * 100 * totalWeight < (totalActive + 1) * _balanceFactor * weight;

    private static (ulong[] Points, int[] Owners) BuildRing(BackendState[] backends, int[] weights, int pointsPerWeight)
    {
        var n = backends.Length;
        if (n == 0)
        {
            return ([], []);
        }

        var minWeight = int.MaxValue;
        foreach (var w in weights)
        {
            minWeight = Math.Min(minWeight, w);
        }

        var counts = new long[n];
        long total = 0;
        for (var i = 0; i < n; i++)
        {
            counts[i] = (long)pointsPerWeight * weights[i] / minWeight;
            total += counts[i];
        }

        if (total > MaxRingPoints)
        {
            var target = Math.Max(MaxRingPoints, n);
            var scaled = 0L;
            for (var i = 0; i < n; i++)
            {
                counts[i] = Math.Max(1, counts[i] * target / total);
                scaled += counts[i];
            }

            total = scaled;
        }

        var points = new ulong[total];
        var owners = new int[total];
        var next = 0;
        for (var i = 0; i < n; i++)
        {
            var address = Encoding.UTF8.GetBytes(backends[i].Config.Address);
            for (var replica = 0L; replica < counts[i]; replica++)
            {
                points[next] = XxHash3.HashToUInt64(address, replica);
                owners[next] = i;
                next++;
            }
        }

        Array.Sort(points, owners);
        OrderCollisions(backends, points, owners);
        return (points, owners);
    }

    // Array.Sort is unstable, so two backends whose points collide (rare with 64-bit hashes) would split the keys
    // depending on list order; ordering equal points by address makes the ring a function of the backend set alone.
    private static void OrderCollisions(BackendState[] backends, ulong[] points, int[] owners)
    {
        var i = 0;
        while (i < points.Length)
        {
            var j = i + 1;
            while (j < points.Length && points[j] == points[i])
            {
                j++;
            }

            if (j - i > 1)
            {
                owners.AsSpan(i, j - i).Sort((a, b) => string.CompareOrdinal(backends[a].Config.Address, backends[b].Config.Address));
            }

            i = j;
        }
    }
}
