using System.Numerics;

namespace LoadBalancer.Bench.Load;

/// <summary>
/// A preallocated log-linear latency histogram in nanoseconds (HdrHistogram-like): values below 128 ns are exact,
/// above that each power of two is split into 128 linear sub-buckets, so any recorded value is off by at most 1/128
/// (0.8%). Recording is an index computation and an increment: no allocation, no lock (one histogram per connection,
/// merged after the run).
/// </summary>
internal sealed class LatencyHistogram
{
    private const int SubBucketBits = 7;
    private const int SubBucketCount = 1 << SubBucketBits;

    // Up to 2^40 ns (about 18 minutes): far beyond any request in a closed-loop run.
    private const int MaxExponent = 40;
    private const int BucketCount = SubBucketCount + ((MaxExponent - SubBucketBits + 1) * SubBucketCount);

    private readonly long[] _counts = new long[BucketCount];
    private long _total;
    private long _max;

    public long Count => _total;

    public long MaxNanoseconds => _max;

    public void Record(long nanoseconds)
    {
        if (nanoseconds < 0)
        {
            nanoseconds = 0;
        }

        _counts[Index(nanoseconds)]++;
        _total++;
        if (nanoseconds > _max)
        {
            _max = nanoseconds;
        }
    }

    public void Reset()
    {
        Array.Clear(_counts);
        _total = 0;
        _max = 0;
    }

    public void Add(LatencyHistogram other)
    {
        for (var i = 0; i < _counts.Length; i++)
        {
            _counts[i] += other._counts[i];
        }

        _total += other._total;
        _max = Math.Max(_max, other._max);
    }

    /// <summary>The value at quantile <paramref name="q"/> (0..1), as the midpoint of its bucket, in nanoseconds.</summary>
    public long Percentile(double q)
    {
        if (_total == 0)
        {
            return 0;
        }

        var rank = (long)Math.Ceiling(q * _total);
        rank = Math.Clamp(rank, 1, _total);
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= rank)
            {
                return Math.Min(Midpoint(i), _max);
            }
        }

        return _max;
    }

    internal static int Index(long value)
    {
        if (value < SubBucketCount)
        {
            return (int)value;
        }

        var exponent = 63 - BitOperations.LeadingZeroCount((ulong)value);
        if (exponent > MaxExponent)
        {
            return BucketCount - 1;
        }

        var shift = exponent - SubBucketBits;
        var top = (int)(value >> shift);   // in [128, 256)
        return SubBucketCount + (shift * SubBucketCount) + (top - SubBucketCount);
    }

    internal static long Midpoint(int index)
    {
        if (index < SubBucketCount)
        {
            return index;
        }

        var shift = (index - SubBucketCount) / SubBucketCount;
        var top = SubBucketCount + ((index - SubBucketCount) % SubBucketCount);
        var low = (long)top << shift;
        return low + ((1L << shift) >> 1);
    }
}
