using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Core.Dashboard;

/// <summary>
/// The current rates of one set of usage counters (a tenant's, a route's, a consumer's): requests per second, the
/// error share, p50/p99 latency and bytes per second over the sampler's last tick. It keeps the totals it read last, so
/// the data path keeps only its monotonic counters. Written by the sampler's tick only.
/// </summary>
internal sealed class RateMeter
{
    private readonly long[] _buckets = new long[LatencyQuantiles.Slots];
    private bool _primed;

    /// <summary>Totals at the last tick (the start of the next interval).</summary>
    public long Requests { get; private set; }

    public long Errors { get; private set; }

    public long Bytes { get; private set; }

    public ReadOnlySpan<long> Buckets => _buckets;

    public double RequestsPerSecond { get; private set; }

    /// <summary>Share (0..1) of the interval's requests that got a 5xx or no status at all.</summary>
    public double ErrorRate { get; private set; }

    public double? P50 { get; private set; }

    public double? P99 { get; private set; }

    /// <summary>Bytes received plus bytes sent, per second.</summary>
    public double BytesPerSecond { get; private set; }

    /// <summary>As though the last tick had read all zeros: the next update gives the rates since then.</summary>
    public void PrimeAtZero() => _primed = true;

    public void Update(long requests, long errors, long bytes, LatencyHistogram latency, double seconds)
    {
        Span<long> buckets = stackalloc long[LatencyQuantiles.Slots];
        LatencyQuantiles.Read(latency, buckets);
        if (_primed && seconds > 0)
        {
            var count = requests - Requests;
            RequestsPerSecond = count / seconds;
            ErrorRate = count > 0 ? Math.Clamp((errors - Errors) / (double)count, 0, 1) : 0;
            BytesPerSecond = (bytes - Bytes) / seconds;
            P50 = LatencyQuantiles.Of(buckets, _buckets, 0.5);
            P99 = LatencyQuantiles.Of(buckets, _buckets, 0.99);
        }

        _primed = true;
        Requests = requests;
        Errors = errors;
        Bytes = bytes;
        buckets.CopyTo(_buckets);
    }
}
