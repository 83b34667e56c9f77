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
    // Created at the first entry: most tenants have no keys, routes or consumers, and with 10,000 tenants the empty
    // dictionaries were 25 MB of the snapshot (issue 20). Only the compiler adds (on the reload path); readers enumerate.
    private ConcurrentDictionary<string, KeyUsage>? _keys;
    private ConcurrentDictionary<string, Routes.RouteUsage>? _routes;
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
    public IEnumerable<KeyValuePair<string, KeyUsage>> Keys => (IEnumerable<KeyValuePair<string, KeyUsage>>?)_keys ?? [];

    internal KeyUsage KeyUsage(string id) => Created(ref _keys).GetOrAdd(id, static _ => new KeyUsage());

    /// <summary>Usage per route name, including routes removed from the config since (billing keeps them).</summary>
    public IEnumerable<KeyValuePair<string, Routes.RouteUsage>> Routes => (IEnumerable<KeyValuePair<string, Routes.RouteUsage>>?)_routes ?? [];

    internal Routes.RouteUsage RouteUsage(string name) => Created(ref _routes).GetOrAdd(name, static _ => new Routes.RouteUsage());

    private ConcurrentDictionary<string, Consumers.ConsumerUsage>? _consumers;

    /// <summary>Usage per consumer name, including consumers removed from the config since (billing keeps them).</summary>
    public IEnumerable<KeyValuePair<string, Consumers.ConsumerUsage>> Consumers => (IEnumerable<KeyValuePair<string, Consumers.ConsumerUsage>>?)_consumers ?? [];

    // Every tenant has the cell of no consumer and no route, so it has a field of its own; the others are looked up.
    private Usage.UsageCell? _plainCell;
    private ConcurrentDictionary<(string Consumer, string Route), Usage.UsageCell>? _cells;

    /// <summary>The usage ledger's cell of no consumer and no route (null until compiled); with <see cref="OtherCells"/>, every cell.</summary>
    internal Usage.UsageCell? PlainCell => Volatile.Read(ref _plainCell);

    /// <summary>The cells of a consumer or a route, including ones a reload removed; null when there are none.</summary>
    internal ICollection<Usage.UsageCell>? OtherCells => Volatile.Read(ref _cells)?.Values;

    internal Usage.UsageCell Cell(string consumer, string route)
    {
        if (consumer.Length == 0 && route.Length == 0)
        {
            return Volatile.Read(ref _plainCell) ?? Interlocked.CompareExchange(ref _plainCell, new Usage.UsageCell(Name, "", ""), null) ?? _plainCell!;
        }

        return Created(ref _cells, comparer: null).GetOrAdd((consumer, route), static (key, tenant) => new Usage.UsageCell(tenant, key.Consumer, key.Route), Name);
    }

    internal Consumers.ConsumerUsage ConsumerUsage(string name) => Created(ref _consumers).GetOrAdd(name, static _ => new Consumers.ConsumerUsage());

    private static ConcurrentDictionary<string, T> Created<T>(ref ConcurrentDictionary<string, T>? field)
        => Created(ref field, StringComparer.Ordinal);

    private static ConcurrentDictionary<TKey, T> Created<TKey, T>(ref ConcurrentDictionary<TKey, T>? field, IEqualityComparer<TKey>? comparer)
        where TKey : notnull
        => Volatile.Read(ref field)
            ?? Interlocked.CompareExchange(ref field, new ConcurrentDictionary<TKey, T>(concurrencyLevel: 1, capacity: 4, comparer), null)
            ?? field!;

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
