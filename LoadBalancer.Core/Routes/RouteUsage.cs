using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Core.Routes;

/// <summary>
/// What one route of a tenant served: requests by the status class the client got, bytes both ways, and its latency
/// histogram (whose sum is the route's duration total; the dashboard reads its p50/p99). Kept by the tenant's state by route name, so a reload keeps it; a route removed from the config keeps its
/// counts (billing keeps them) until the process ends. Interlocked adds to the request's event loop's copy
/// (<see cref="Counters.LoopCounters"/>); readers sum the copies.
/// </summary>
public sealed class RouteUsage
{
    // Requests by status class, then bytes received, bytes sent.
    private const int BytesReceivedAt = StatusClasses.Count;
    private const int BytesSentAt = BytesReceivedAt + 1;

    private readonly Counters.LoopCounters _counters = new(BytesSentAt + 1);

    public long Requests(int statusClass) => _counters.Sum(statusClass);

    public long TotalRequests => StatusClasses.Total(_counters);

    public long BytesReceived => _counters.Sum(BytesReceivedAt);

    public long BytesSent => _counters.Sum(BytesSentAt);

    /// <summary>Request durations, in the same buckets as the tenant's.</summary>
    public LatencyHistogram Latency { get; } = new();

    /// <summary>Sum of request durations, in seconds.</summary>
    public double DurationSecondsSum => Latency.SumSeconds;

    internal void Count(int status, long bytesReceived, long bytesSent, long elapsedTicks)
    {
        var mine = _counters.LocalCopy();
        Interlocked.Increment(ref mine[StatusClasses.Of(status)]);
        Interlocked.Add(ref mine[BytesReceivedAt], bytesReceived);
        Interlocked.Add(ref mine[BytesSentAt], bytesSent);
        Latency.Record(elapsedTicks);
    }
}
