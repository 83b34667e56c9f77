using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Core.Routes;

/// <summary>
/// What one route of a tenant served: requests by the status class the client got, bytes both ways, and its latency
/// histogram (whose sum is the route's duration total; the dashboard reads its p50/p99). Kept by the tenant's state by route name, so a reload keeps it; a route removed from the config keeps its
/// counts (billing keeps them) until the process ends. Interlocked adds only.
/// </summary>
public sealed class RouteUsage
{
    private readonly long[] _requests = new long[StatusClasses.Count];
    private long _bytesReceived;
    private long _bytesSent;

    public long Requests(int statusClass) => Interlocked.Read(ref _requests[statusClass]);

    public long TotalRequests => StatusClasses.Total(_requests);

    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    public long BytesSent => Interlocked.Read(ref _bytesSent);

    /// <summary>Request durations, in the same buckets as the tenant's.</summary>
    public LatencyHistogram Latency { get; } = new();

    /// <summary>Sum of request durations, in seconds.</summary>
    public double DurationSecondsSum => Latency.SumSeconds;

    internal void Count(int status, long bytesReceived, long bytesSent, long elapsedTicks)
    {
        Interlocked.Increment(ref _requests[StatusClasses.Of(status)]);
        Interlocked.Add(ref _bytesReceived, bytesReceived);
        Interlocked.Add(ref _bytesSent, bytesSent);
        Latency.Record(elapsedTicks);
    }
}
