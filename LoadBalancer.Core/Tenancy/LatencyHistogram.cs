namespace LoadBalancer.Core.Tenancy;

/// <summary>
/// A fixed-bucket latency histogram updated with Interlocked only (one counter per bucket, non-cumulative; renderers
/// add them up). The bounds are Prometheus' usual HTTP ones, from 1 ms to 10 s.
/// </summary>
public sealed class LatencyHistogram
{
    /// <summary>Upper bounds in seconds; a last implicit bucket is +Inf.</summary>
    public static readonly double[] Bounds = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private static readonly long[] BoundTicks = BuildBoundTicks();

    private readonly long[] _buckets = new long[Bounds.Length + 1];
    private long _count;
    private long _sumTicks;

    public long Count => Interlocked.Read(ref _count);

    public double SumSeconds => Interlocked.Read(ref _sumTicks) / (double)System.Diagnostics.Stopwatch.Frequency;

    /// <summary>Requests in bucket <paramref name="index"/> alone (not cumulative); index <c>Bounds.Length</c> is +Inf.</summary>
    public long Bucket(int index) => Interlocked.Read(ref _buckets[index]);

    /// <summary>Records a duration in <see cref="System.Diagnostics.Stopwatch"/> ticks.</summary>
    public void Record(long elapsedTicks)
    {
        var index = 0;
        while (index < BoundTicks.Length && elapsedTicks > BoundTicks[index])
        {
            index++;
        }

        Interlocked.Increment(ref _buckets[index]);
        Interlocked.Add(ref _sumTicks, elapsedTicks);
        Interlocked.Increment(ref _count);
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
