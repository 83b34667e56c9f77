using LoadBalancer.Core.Counters;

namespace LoadBalancer.Core.Tenancy;

/// <summary>
/// A fixed-bucket latency histogram (one counter per bucket, non-cumulative; renderers add them up), kept per event
/// loop (<see cref="LoopCounters"/>): a request adds to its loop's copy, readers sum the copies. The bounds are
/// Prometheus' usual HTTP ones, from 1 ms to 10 s.
/// </summary>
public sealed class LatencyHistogram
{
    /// <summary>Upper bounds in seconds; a last implicit bucket is +Inf.</summary>
    public static readonly double[] Bounds = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private static readonly long[] BoundTicks = BuildBoundTicks();

    // Buckets 0..Bounds.Length (the last is +Inf), then the count, then the sum of durations in Stopwatch ticks.
    private const int CountIndex = 14;
    private const int SumIndex = 15;

    private readonly LoopCounters _counters = new(SumIndex + 1);

    public long Count => _counters.Sum(CountIndex);

    public double SumSeconds => _counters.Sum(SumIndex) / (double)System.Diagnostics.Stopwatch.Frequency;

    /// <summary>Requests in bucket <paramref name="index"/> alone (not cumulative); index <c>Bounds.Length</c> is +Inf.</summary>
    public long Bucket(int index) => _counters.Sum(index);

    /// <summary>Records a duration in <see cref="System.Diagnostics.Stopwatch"/> ticks.</summary>
    public void Record(long elapsedTicks)
    {
        var index = 0;
        while (index < BoundTicks.Length && elapsedTicks > BoundTicks[index])
        {
            index++;
        }

        var mine = _counters.LocalCopy();
        Interlocked.Increment(ref mine[index]);
        Interlocked.Add(ref mine[SumIndex], elapsedTicks);
        Interlocked.Increment(ref mine[CountIndex]);
    }

    private static long[] BuildBoundTicks()
    {
        var ticks = new long[Bounds.Length];
        for (var i = 0; i < Bounds.Length; i++)
        {
            ticks[i] = (long)(Bounds[i] * System.Diagnostics.Stopwatch.Frequency);
        }

        return ticks;
    }
}
