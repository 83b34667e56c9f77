using System.Collections.Concurrent;

namespace LoadBalancer.Core.Tenancy;

/// <summary>
/// The live side of a tenant: usage counters, its connection and in-flight counts. The snapshot
/// compiler reuses it by tenant name, so a reload neither resets billing counters nor frees limits. Every member the
/// data path touches is Interlocked on this object; nothing here is shared between tenants.
/// </summary>
public sealed class TenantState
{
    private readonly long[] _requests = new long[StatusClasses.Count];
    private readonly long[] _refused = new long[RefusalReasons.Count];
    private readonly ConcurrentDictionary<string, KeyUsage> _keys = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Routes.RouteUsage> _routes = new(StringComparer.Ordinal);
    private long _bytesReceived;
    private long _bytesSent;
    private long _rateLimited;
    private int _connections;
    private int _inFlight;

    public TenantState(string name) => Name = name;

    public string Name { get; }

    public LatencyHistogram Latency { get; } = new();

    /// <summary>Client connections whose latest request was for this tenant.</summary>
    public int ActiveConnections => Volatile.Read(ref _connections);

    /// <summary>Requests admitted and not finished (sent to, or waiting for, a backend).</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    public long BytesSent => Interlocked.Read(ref _bytesSent);

    public long RateLimited => Interlocked.Read(ref _rateLimited);

    public long Requests(int statusClass) => Interlocked.Read(ref _requests[statusClass]);

    public long TotalRequests => StatusClasses.Total(_requests);

    public long Refused(int reason) => Interlocked.Read(ref _refused[reason]);

    /// <summary>Usage per access key id, including keys removed from the config since (billing keeps them).</summary>
    public IEnumerable<KeyValuePair<string, KeyUsage>> Keys => _keys;

    internal KeyUsage KeyUsage(string id) => _keys.GetOrAdd(id, static _ => new KeyUsage());

    /// <summary>Usage per route name, including routes removed from the config since (billing keeps them).</summary>
    public IEnumerable<KeyValuePair<string, Routes.RouteUsage>> Routes => _routes;

    internal Routes.RouteUsage RouteUsage(string name) => _routes.GetOrAdd(name, static _ => new Routes.RouteUsage());

    private readonly ConcurrentDictionary<string, Consumers.ConsumerUsage> _consumers = new(StringComparer.Ordinal);

    /// <summary>Usage per consumer name, including consumers removed from the config since (billing keeps them).</summary>
    public IEnumerable<KeyValuePair<string, Consumers.ConsumerUsage>> Consumers => _consumers;

    private readonly ConcurrentDictionary<(string Consumer, string Route), Usage.UsageCell> _cells = new();

    /// <summary>The usage ledger's cells of this tenant, per (consumer, route), including ones a reload removed.</summary>
    public ICollection<Usage.UsageCell> Cells => _cells.Values;

    internal Usage.UsageCell Cell(string consumer, string route) => _cells.GetOrAdd((consumer, route), static (key, tenant) => new Usage.UsageCell(tenant, key.Consumer, key.Route), Name);

    internal Consumers.ConsumerUsage ConsumerUsage(string name) => _consumers.GetOrAdd(name, static _ => new Consumers.ConsumerUsage());

    internal bool TryAttachConnection(int max)
    {
        var count = Interlocked.Increment(ref _connections);
        if (max > 0 && count > max)
        {
            Interlocked.Decrement(ref _connections);
            return false;
        }

        return true;
    }

    internal void DetachConnection() => Interlocked.Decrement(ref _connections);

    internal bool TryEnterInFlight(int max)
    {
        var count = Interlocked.Increment(ref _inFlight);
        if (max > 0 && count > max)
        {
            Interlocked.Decrement(ref _inFlight);
            return false;
        }

        return true;
    }

    internal void ExitInFlight() => Interlocked.Decrement(ref _inFlight);

    private int _waitingForSlot;

    /// <summary>Requests of this tenant waiting for a backend slot (max_connections_per_backend); overload path only.</summary>
    internal int WaitingForSlot => Volatile.Read(ref _waitingForSlot);

    internal void EnterSlotWait() => Interlocked.Increment(ref _waitingForSlot);

    internal void ExitSlotWait() => Interlocked.Decrement(ref _waitingForSlot);

    internal void CountRateLimited() => Interlocked.Increment(ref _rateLimited);

    internal void CountRefused(RefusalReason reason) => Interlocked.Increment(ref _refused[(int)reason]);

    /// <summary>One finished request: the status class the client got, its bytes both ways and its duration.</summary>
    internal void CountRequest(int status, long bytesReceived, long bytesSent, long elapsedTicks)
    {
        Interlocked.Increment(ref _requests[StatusClasses.Of(status)]);
        Interlocked.Add(ref _bytesReceived, bytesReceived);
        Interlocked.Add(ref _bytesSent, bytesSent);
        Latency.Record(elapsedTicks);
    }
}
