using System.Collections.Concurrent;
using LoadBalancer.Core.Counters;

namespace LoadBalancer.Core.Tenancy;

/// <summary>
/// The live side of a tenant: usage counters, its connection and in-flight counts. The snapshot
/// compiler reuses it by tenant name, so a reload neither resets billing counters nor frees limits. The counters a
/// request adds to (requests by status class, bytes, refusals, the histogram, in-flight and connections) are kept per
/// event loop (<see cref="LoopCounters"/>, <see cref="LoopGauge"/>) and summed by readers, so a hot tenant is not one
/// cache line that every core takes in turn; a limit that must be exact (max_in_flight, max_connections) counts in
/// one shared field instead. Nothing here is shared between tenants.
/// </summary>
public sealed class TenantState
{
    // One LoopCounters: requests by status class, then bytes in, bytes out, rate-limited, then refusals by reason.
    private const int BytesReceivedIndex = StatusClasses.Count;
    private const int BytesSentIndex = BytesReceivedIndex + 1;
    private const int RateLimitedIndex = BytesSentIndex + 1;
    private const int RefusedIndex = RateLimitedIndex + 1;

    // Then tcp listeners' connections and their bytes (also in the tenant's bytes in and out above).
    private const int TcpConnectionsIndex = RefusedIndex + RefusalReasons.Count;
    private const int TcpBytesReceivedIndex = TcpConnectionsIndex + 1;
    private const int TcpBytesSentIndex = TcpBytesReceivedIndex + 1;
    private const int TcpDurationIndex = TcpBytesSentIndex + 1;
    private const int TcpRefusedIndex = TcpDurationIndex + 1;

    private readonly LoopCounters _counters = new(TcpRefusedIndex + 1);
    private readonly LoopGauge _connections = new();
    private readonly LoopGauge _inFlight = new();
    // Created at the first entry: most tenants have no keys, routes or consumers, and with 10,000 tenants the empty
    // dictionaries were 25 MB of the snapshot (issue 20). Only the compiler adds (on the reload path); readers enumerate.
    private ConcurrentDictionary<string, KeyUsage>? _keys;
    private ConcurrentDictionary<string, Routes.RouteUsage>? _routes;

    public TenantState(string name) => Name = name;

    public string Name { get; }

    public LatencyHistogram Latency { get; } = new();

    /// <summary>Client connections whose latest request was for this tenant.</summary>
    public int ActiveConnections => _connections.Value;

    /// <summary>Requests admitted and not finished (sent to, or waiting for, a backend).</summary>
    public int InFlight => _inFlight.Value;

    public long BytesReceived => _counters.Sum(BytesReceivedIndex);

    public long BytesSent => _counters.Sum(BytesSentIndex);

    public long RateLimited => _counters.Sum(RateLimitedIndex);

    /// <summary>Connections of tcp listeners admitted for the tenant (refused ones are in <see cref="Refused"/>).</summary>
    public long TcpConnections => _counters.Sum(TcpConnectionsIndex);

    /// <summary>Bytes from clients of tcp listeners forwarded to backends (after TLS, when the listener terminates it).</summary>
    public long TcpBytesReceived => _counters.Sum(TcpBytesReceivedIndex);

    /// <summary>Bytes from backends forwarded to clients of tcp listeners.</summary>
    public long TcpBytesSent => _counters.Sum(TcpBytesSentIndex);

    /// <summary>Stopwatch ticks tcp tunnels of the tenant lasted, counted when each ends.</summary>
    public long TcpDurationTicks => _counters.Sum(TcpDurationIndex);

    /// <summary>Connections of tcp listeners refused at max_connections (also in <see cref="Refused"/>).</summary>
    public long TcpRefused => _counters.Sum(TcpRefusedIndex);

    /// <summary>Per-loop copies of the request counters made so far (tests check that loops count apart).</summary>
    internal int CounterCopies => _counters.CopiesMade;

    public long Requests(int statusClass) => _counters.Sum(statusClass);

    public long TotalRequests => StatusClasses.Total(_counters);

    public long Refused(int reason) => _counters.Sum(RefusedIndex + reason);

    /// <summary>Usage per access key id, including keys removed from the config since (billing keeps them).</summary>
    public IEnumerable<KeyValuePair<string, KeyUsage>> Keys => (IEnumerable<KeyValuePair<string, KeyUsage>>?)_keys ?? [];

    internal KeyUsage KeyUsage(string id) => Created(ref _keys).GetOrAdd(id, static _ => new KeyUsage());

    /// <summary>The usage of key <paramref name="id"/>, or null when no snapshot has had it (for readers: adds nothing).</summary>
    internal KeyUsage? FindKeyUsage(string id) => _keys is { } keys && keys.TryGetValue(id, out var usage) ? usage : null;

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

    /// <summary>
    /// Counts a client connection for this tenant unless <paramref name="max"/> (0: none) are counted. A connection
    /// leaves with <see cref="DetachConnection"/>, which needs no token (see <see cref="LoopGauge.Exit()"/>).
    /// </summary>
    internal bool TryAttachConnection(int max)
    {
        if (max <= 0)
        {
            _connections.Enter();
            return true;
        }

        return _connections.TryEnter(max) is not null;
    }

    internal void DetachConnection() => _connections.Exit();

    /// <summary>
    /// Admits a request unless <paramref name="max"/> (0: none) are in flight; <paramref name="token"/> goes back to
    /// <see cref="ExitInFlight"/>, so the request leaves the count it entered.
    /// </summary>
    internal bool TryEnterInFlight(int max, out int token)
    {
        if (max <= 0)
        {
            token = _inFlight.Enter();
            return true;
        }

        var entered = _inFlight.TryEnter(max);
        token = entered ?? LoopGauge.Shared;
        return entered is not null;
    }

    internal void ExitInFlight(int token) => _inFlight.Exit(token);

    private int _waitingForSlot;

    /// <summary>Requests of this tenant waiting for a backend slot (max_connections_per_backend); overload path only.</summary>
    internal int WaitingForSlot => Volatile.Read(ref _waitingForSlot);

    internal void EnterSlotWait() => Interlocked.Increment(ref _waitingForSlot);

    internal void ExitSlotWait() => Interlocked.Decrement(ref _waitingForSlot);

    internal void CountRateLimited() => _counters.Add(RateLimitedIndex, 1);

    internal void CountRefused(RefusalReason reason) => _counters.Add(RefusedIndex + (int)reason, 1);

    /// <summary>One finished request: the status class the client got, its bytes both ways and its duration.</summary>
    internal void CountRequest(int status, long bytesReceived, long bytesSent, long elapsedTicks)
    {
        var mine = _counters.LocalCopy();
        Interlocked.Increment(ref mine[StatusClasses.Of(status)]);
        Interlocked.Add(ref mine[BytesReceivedIndex], bytesReceived);
        Interlocked.Add(ref mine[BytesSentIndex], bytesSent);
        Latency.Record(elapsedTicks);
    }

    /// <summary>A tcp listener admitted a connection for the tenant.</summary>
    internal void CountTcpConnection() => _counters.Add(TcpConnectionsIndex, 1);

    /// <summary>A tcp listener refused a connection at max_connections: the tenant's refusal and the tcp-only count.</summary>
    internal void CountTcpRefused()
    {
        CountRefused(RefusalReason.MaxConnections);
        _counters.Add(TcpRefusedIndex, 1);
    }

    /// <summary>A tunnel counted by <see cref="CountTcpConnection"/> ended after <paramref name="elapsedTicks"/>.</summary>
    internal void CountTcpDuration(long elapsedTicks) => _counters.Add(TcpDurationIndex, elapsedTicks);

    /// <summary>Bytes a tcp tunnel moved: from the client (<paramref name="received"/>) or to it; counted as they go.</summary>
    internal void CountTcpBytes(bool received, long bytes)
    {
        var mine = _counters.LocalCopy();
        Interlocked.Add(ref mine[received ? BytesReceivedIndex : BytesSentIndex], bytes);
        Interlocked.Add(ref mine[received ? TcpBytesReceivedIndex : TcpBytesSentIndex], bytes);
    }
}
