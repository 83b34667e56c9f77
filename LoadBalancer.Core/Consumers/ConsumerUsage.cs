using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Core.Consumers;

/// <summary>
/// What one consumer's requests came to: requests by the status class the client got, bytes both ways, their latency
/// histogram (for the dashboard's p50/p99), and lb's refusals of its own limits (subscription, rate limit, quota). Kept by the tenant's state by name across reloads.
/// Interlocked adds only.
/// </summary>
public sealed class ConsumerUsage
{
    private readonly long[] _requests = new long[StatusClasses.Count];
    private long _bytesReceived;
    private long _bytesSent;
    private long _notSubscribed;
    private long _rateLimited;
    private long _quotaExceeded;

    /// <summary>Request durations, in the same buckets as the tenant's.</summary>
    public LatencyHistogram Latency { get; } = new();

    public long Requests(int statusClass) => Interlocked.Read(ref _requests[statusClass]);

    public long TotalRequests => StatusClasses.Total(_requests);

    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    public long BytesSent => Interlocked.Read(ref _bytesSent);

    public long NotSubscribed => Interlocked.Read(ref _notSubscribed);

    public long RateLimited => Interlocked.Read(ref _rateLimited);

    public long QuotaExceeded => Interlocked.Read(ref _quotaExceeded);

    internal void Count(int status, long bytesReceived, long bytesSent, long elapsedTicks)
    {
        Latency.Record(elapsedTicks);
        Interlocked.Increment(ref _requests[StatusClasses.Of(status)]);
        Interlocked.Add(ref _bytesReceived, bytesReceived);
        Interlocked.Add(ref _bytesSent, bytesSent);
    }

    internal void CountNotSubscribed() => Interlocked.Increment(ref _notSubscribed);

    internal void CountRateLimited() => Interlocked.Increment(ref _rateLimited);

    internal void CountQuotaExceeded() => Interlocked.Increment(ref _quotaExceeded);
}
