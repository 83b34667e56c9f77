using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Core.Consumers;

/// <summary>
/// What one consumer's requests came to: requests by the status class the client got, bytes both ways, their latency
/// histogram (for the dashboard's p50/p99), and lb's refusals of its own limits (subscription, rate limit, quota). Kept by the tenant's state by name across reloads.
/// Interlocked adds to the request's event loop's copy (<see cref="Counters.LoopCounters"/>); readers sum the copies.
/// </summary>
public sealed class ConsumerUsage
{
    // Requests by status class, then bytes received, bytes sent, and the three refusals.
    private const int BytesReceivedAt = StatusClasses.Count;
    private const int BytesSentAt = BytesReceivedAt + 1;
    private const int NotSubscribedAt = BytesSentAt + 1;
    private const int RateLimitedAt = NotSubscribedAt + 1;
    private const int QuotaExceededAt = RateLimitedAt + 1;

    private readonly Counters.LoopCounters _counters = new(QuotaExceededAt + 1);

    /// <summary>Request durations, in the same buckets as the tenant's.</summary>
    public LatencyHistogram Latency { get; } = new();

    public long Requests(int statusClass) => _counters.Sum(statusClass);

    public long TotalRequests => StatusClasses.Total(_counters);

    public long BytesReceived => _counters.Sum(BytesReceivedAt);

    public long BytesSent => _counters.Sum(BytesSentAt);

    public long NotSubscribed => _counters.Sum(NotSubscribedAt);

    public long RateLimited => _counters.Sum(RateLimitedAt);

    public long QuotaExceeded => _counters.Sum(QuotaExceededAt);

    internal void Count(int status, long bytesReceived, long bytesSent, long elapsedTicks)
    {
        Latency.Record(elapsedTicks);
        var mine = _counters.LocalCopy();
        Interlocked.Increment(ref mine[StatusClasses.Of(status)]);
        Interlocked.Add(ref mine[BytesReceivedAt], bytesReceived);
        Interlocked.Add(ref mine[BytesSentAt], bytesSent);
    }

    internal void CountNotSubscribed() => _counters.Add(NotSubscribedAt, 1);

    internal void CountRateLimited() => _counters.Add(RateLimitedAt, 1);

    internal void CountQuotaExceeded() => _counters.Add(QuotaExceededAt, 1);
}
