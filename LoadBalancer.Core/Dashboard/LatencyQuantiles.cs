using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Core.Dashboard;

/// <summary>
/// Quantiles of a <see cref="LatencyHistogram"/> over an interval: from the difference of two bucket readings, with
/// linear interpolation inside the bucket that holds the rank (as Prometheus' <c>histogram_quantile</c> does). A rank
/// in the +Inf bucket reports the last bound.
/// </summary>
internal static class LatencyQuantiles
{
    /// <summary>Bucket slots of a reading: every bound, then +Inf.</summary>
    public static readonly int Slots = LatencyHistogram.Bounds.Length + 1;

    /// <summary>Reads every bucket of <paramref name="histogram"/> into <paramref name="into"/> (non-cumulative counts).</summary>
    public static void Read(LatencyHistogram histogram, Span<long> into)
    {
        for (var i = 0; i < into.Length; i++)
        {
            into[i] = histogram.Bucket(i);
        }
    }

    /// <summary>The <paramref name="q"/> quantile in milliseconds of the requests between two readings; null with none.</summary>
    public static double? Of(ReadOnlySpan<long> now, ReadOnlySpan<long> before, double q)
    {
        long total = 0;
        for (var i = 0; i < now.Length; i++)
        {
            total += now[i] - before[i];
        }

        if (total <= 0)
        {
            return null;
        }

        var bounds = LatencyHistogram.Bounds;
        var rank = q * total;
        long seen = 0;
        for (var i = 0; i < now.Length; i++)
        {
            var count = now[i] - before[i];
            if (count > 0 && seen + count >= rank)
            {
                if (i >= bounds.Length)
                {
                    return bounds[^1] * 1000;
                }

                var lower = i == 0 ? 0 : bounds[i - 1];
                return (lower + ((bounds[i] - lower) * (rank - seen) / count)) * 1000;
            }

            seen += count;
        }

        return bounds[^1] * 1000;
    }
}
