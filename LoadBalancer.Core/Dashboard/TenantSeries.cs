using LoadBalancer.Core.Tenancy;
using LoadBalancer.Core.Usage;

namespace LoadBalancer.Core.Dashboard;

/// <summary>
/// What the dashboard keeps of one tenant: its current rates, its refusals per second by reason, the meters of its
/// routes and consumers, and its 15-minute history. The history ring exists only while the tenant had traffic in the
/// last 15 minutes, so thousands of idle tenants cost a few hundred bytes each. Written by the sampler's tick only.
/// </summary>
internal sealed class TenantSeries
{
    /// <summary>Series of a history slot, in ring order.</summary>
    public const int RequestsField = 0, ErrorRateField = 1, P50Field = 2, P99Field = 3, ConnectionsField = 4, RefusedField = 5, BytesField = 6, Fields = 7;

    /// <summary>Refusal slots: <see cref="RefusalReasons"/>, then the tenant's or route's rate limit (429).</summary>
    public const int RefusalSlots = UsageCell.RefusalSlots;

    private readonly long[] _refused = new long[RefusalSlots];
    private readonly long[] _slotBuckets = new long[LatencyQuantiles.Slots];
    private long _slotRequests;
    private long _slotErrors;
    private long _slotRefused;
    private long _slotBytes;
    private long _slotStarted;
    private int _slotConnections;
    private int _idleSlots;
    private bool _primed;

    public TenantSeries(TenantState state) => State = state;

    /// <summary>
    /// The series of a tenant the sampler saw idle until the previous tick (so every total was 0 there): primed at
    /// zero, with the current history slot begun at <paramref name="slotStarted"/> like every other tenant's.
    /// </summary>
    public static TenantSeries FromIdle(TenantState state, long slotStarted)
    {
        var series = new TenantSeries(state);
        series.Meter.PrimeAtZero();
        series._primed = true;
        series.StartSlot(slotStarted);
        return series;
    }

    /// <summary>Whether the tenant has had a request, a connection or a refusal since its state was made.</summary>
    public static bool HasActivity(TenantState state)
    {
        if (state.TotalRequests != 0 || state.ActiveConnections != 0 || state.InFlight != 0 || state.RateLimited != 0)
        {
            return true;
        }

        for (var slot = 0; slot < RefusalSlots; slot++)
        {
            if (slot != UsageCell.RateLimitedSlot && state.Refused(slot) != 0)
            {
                return true;
            }
        }

        return false;
    }

    public TenantState State { get; }

    public RateMeter Meter { get; } = new();

    public int Connections { get; private set; }

    public int InFlight { get; private set; }

    public double[] RefusedPerSecond { get; } = new double[RefusalSlots];

    public double RefusalsPerSecond { get; private set; }

    /// <summary>Refusals of every reason so far (the start of the next interval).</summary>
    public long RefusedTotal { get; private set; }

    /// <summary>Completed history slots, oldest first; null while the tenant has been idle for the whole window.</summary>
    public SparkRing? History { get; private set; }

    /// <summary>Meters by route name and consumer name; created when the route or consumer first counts.</summary>
    public Dictionary<string, RateMeter> Routes { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, RateMeter> Consumers { get; } = new(StringComparer.Ordinal);

    /// <summary>Requests per second, errors, latency and bytes since the current slot began (the newest history point).</summary>
    public double SlotSeconds(long now, long frequency) => _slotStarted == 0 ? 0 : (now - _slotStarted) / (double)frequency;

    /// <summary>One tick: reads the tenant's totals and turns them into rates over <paramref name="seconds"/>.</summary>
    public void Sample(double seconds, long now)
    {
        var state = State;
        Meter.Update(state.TotalRequests, state.Requests(StatusClasses.None) + state.Requests(5), state.BytesReceived + state.BytesSent, state.Latency, seconds);
        Connections = state.ActiveConnections;
        InFlight = state.InFlight;
        _slotConnections = Math.Max(_slotConnections, Connections);

        long refusedTotal = 0;
        for (var slot = 0; slot < RefusalSlots; slot++)
        {
            var count = slot == UsageCell.RateLimitedSlot ? state.RateLimited : state.Refused(slot);
            RefusedPerSecond[slot] = _primed && seconds > 0 ? (count - _refused[slot]) / seconds : 0;
            _refused[slot] = count;
            refusedTotal += count;
        }

        RefusalsPerSecond = _primed && seconds > 0 ? (refusedTotal - RefusedTotal) / seconds : 0;
        RefusedTotal = refusedTotal;

        foreach (var (name, usage) in state.Routes)
        {
            MeterOf(Routes, name).Update(usage.TotalRequests, usage.Requests(StatusClasses.None) + usage.Requests(5), usage.BytesReceived + usage.BytesSent, usage.Latency, seconds);
        }

        foreach (var (name, usage) in state.Consumers)
        {
            MeterOf(Consumers, name).Update(usage.TotalRequests, usage.Requests(StatusClasses.None) + usage.Requests(5), usage.BytesReceived + usage.BytesSent, usage.Latency, seconds);
        }

        if (!_primed)
        {
            _primed = true;
            StartSlot(now);
        }
    }

    /// <summary>Closes the current history slot (every tenant at once, so the rings line up) and starts the next.</summary>
    public void CloseSlot(long now, long frequency, int slots)
    {
        if (!_primed)
        {
            return;
        }

        var seconds = SlotSeconds(now, frequency);
        Span<float> row = stackalloc float[Fields];
        var active = FillSlot(row, seconds);
        if (active)
        {
            _idleSlots = 0;
            History ??= new SparkRing(Fields, slots);
        }
        else if (History is not null && ++_idleSlots >= slots)
        {
            History = null; // idle for the whole window: nothing left to draw
        }

        History?.Push(row);
        StartSlot(now);
    }

    /// <summary>The current (unfinished) slot's values; false when nothing happened in it.</summary>
    public bool FillSlot(Span<float> row, double seconds)
    {
        var requests = Meter.Requests - _slotRequests;
        var refused = RefusedTotal - _slotRefused;
        if (seconds <= 0)
        {
            row.Clear();
            return false;
        }

        row[RequestsField] = (float)(requests / seconds);
        row[ErrorRateField] = requests > 0 ? (float)((Meter.Errors - _slotErrors) / (double)requests) : 0;
        row[P50Field] = (float)(LatencyQuantiles.Of(Meter.Buckets, _slotBuckets, 0.5) ?? 0);
        row[P99Field] = (float)(LatencyQuantiles.Of(Meter.Buckets, _slotBuckets, 0.99) ?? 0);
        row[ConnectionsField] = _slotConnections;
        row[RefusedField] = (float)(refused / seconds);
        row[BytesField] = (float)((Meter.Bytes - _slotBytes) / seconds);
        return requests > 0 || refused > 0 || _slotConnections > 0;
    }

    private void StartSlot(long now)
    {
        _slotStarted = now;
        _slotRequests = Meter.Requests;
        _slotErrors = Meter.Errors;
        _slotRefused = RefusedTotal;
        _slotBytes = Meter.Bytes;
        Meter.Buckets.CopyTo(_slotBuckets);
        _slotConnections = Connections;
    }

    private static RateMeter MeterOf(Dictionary<string, RateMeter> meters, string name)
    {
        if (!meters.TryGetValue(name, out var meter))
        {
            meter = new RateMeter();
            meters[name] = meter;
        }

        return meter;
    }
}
