using System.Diagnostics;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Core.Dashboard;

/// <summary>
/// Samples the live counters for the dashboard once a tick (a second) on a timer, so the request path keeps only its
/// Interlocked totals and pays nothing for an open page: per tenant (and its routes and consumers) the current rates,
/// and every <see cref="SlotTicks"/> ticks one history slot, kept for <see cref="Slots"/> slots (15 minutes). Backends
/// get their request rate, the process its CPU and memory. Readers take <see cref="Gate"/>, as the tick does.
/// Memory: a few hundred bytes per tenant, plus about 2.5 KB of history for a tenant with traffic in the window.
/// </summary>
public sealed class DashboardSampler : IDisposable
{
    public const int SlotTicks = 10;

    public const int Slots = 90;

    private readonly SnapshotHolder _holder;
    private readonly Dictionary<TenantState, TenantSeries> _tenants = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<BackendState, BackendMeter> _backends = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<object> _seen = new(ReferenceEqualityComparer.Instance);
    private readonly ProcessMeter _process = new();
    private readonly SparkRing _processHistory = new(ProcessMeter.Fields, Slots);
    private readonly double[] _processSlot = new double[ProcessMeter.Fields];
    private readonly Timer? _timer;
    private long _lastTick;
    private long _slotStarted;
    private int _ticks;

    /// <param name="period">The tick; null starts no timer (tests call <see cref="Sample"/> themselves).</param>
    public DashboardSampler(SnapshotHolder holder, TimeSpan? period)
    {
        _holder = holder;
        if (period is { } every)
        {
            _timer = new Timer(static s => ((DashboardSampler)s!).Tick(), this, TimeSpan.Zero, every);
        }
    }

    /// <summary>Held by the tick and by every reader of the series.</summary>
    internal Lock Gate { get; } = new();

    internal SnapshotHolder Snapshots => _holder;

    internal ProcessMeter Process => _process;

    internal SparkRing ProcessHistory => _processHistory;

    /// <summary>When the last tick ran (a <see cref="Stopwatch"/> timestamp).</summary>
    internal long LastTick => _lastTick;

    internal TenantSeries? Series(TenantState state) => _tenants.TryGetValue(state, out var series) ? series : null;

    internal double BackendRequestsPerSecond(BackendState backend) => _backends.TryGetValue(backend, out var meter) ? meter.RequestsPerSecond : 0;

    /// <summary>Ticks that threw, and the last one's message: the page shows history, never the cause of an outage.</summary>
    internal long FailedTicks => Interlocked.Read(ref _failedTicks);

    internal string? LastTickError => Volatile.Read(ref _lastTickError);

    private long _failedTicks;
    private string? _lastTickError;

    /// <summary>
    /// The timer's callback. An exception escaping a timer callback ends the process, so a sampling fault (a /proc read,
    /// a bug in a meter) is counted and the next tick tries again; the proxy goes on either way.
    /// </summary>
    private void Tick()
    {
        try
        {
            Sample(Stopwatch.GetTimestamp());
        }
        catch (Exception e)
        {
            Interlocked.Increment(ref _failedTicks);
            Volatile.Write(ref _lastTickError, $"{e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>One tick at <paramref name="now"/> (a <see cref="Stopwatch"/> timestamp).</summary>
    internal void Sample(long now)
    {
        lock (Gate)
        {
            var seconds = _lastTick == 0 ? 0 : (now - _lastTick) / (double)Stopwatch.Frequency;
            _lastTick = now;
            var snapshot = _holder.Current;
            if (_slotStarted == 0)
            {
                _slotStarted = now;
            }

            foreach (var tenant in snapshot.Tenants.Values)
            {
                if (!_tenants.TryGetValue(tenant.State, out var series))
                {
                    // A tenant that has seen nothing yet gets no series (~1.2 KB, 12 MB at 10,000 tenants, issue 20):
                    // its first one starts from zeros, as though it had been sampled idle until now.
                    if (!TenantSeries.HasActivity(tenant.State))
                    {
                        continue;
                    }

                    series = seconds > 0 ? TenantSeries.FromIdle(tenant.State, _slotStarted) : new TenantSeries(tenant.State);
                    _tenants[tenant.State] = series;
                }

                series.Sample(seconds, now);
            }

            foreach (var pool in snapshot.Pools.Values)
            {
                foreach (var backend in pool.Backends)
                {
                    if (!_backends.TryGetValue(backend, out var meter))
                    {
                        // Likewise a backend never sent a request: its rate is 0 without a meter.
                        if (backend.Requests == 0)
                        {
                            continue;
                        }

                        meter = new BackendMeter(fromIdle: seconds > 0);
                        _backends[backend] = meter;
                    }

                    meter.Update(backend.Requests, seconds);
                }
            }

            Forget(snapshot);
            _process.Sample(seconds);
            _processSlot[ProcessMeter.CpuField] += _process.CpuPercent;
            _processSlot[ProcessMeter.WorkingSetField] = Math.Max(_processSlot[ProcessMeter.WorkingSetField], _process.WorkingSetBytes);
            _processSlot[ProcessMeter.AllocatedField] += _process.AllocatedBytesPerSecond;
            if (++_ticks % SlotTicks == 0)
            {
                CloseSlot(now);
            }
        }
    }

    private void CloseSlot(long now)
    {
        _slotStarted = now;
        foreach (var series in _tenants.Values)
        {
            series.CloseSlot(now, Stopwatch.Frequency, Slots);
        }

        Span<float> row = stackalloc float[ProcessMeter.Fields];
        row[ProcessMeter.CpuField] = (float)(_processSlot[ProcessMeter.CpuField] / SlotTicks);
        row[ProcessMeter.WorkingSetField] = (float)_processSlot[ProcessMeter.WorkingSetField];
        row[ProcessMeter.AllocatedField] = (float)(_processSlot[ProcessMeter.AllocatedField] / SlotTicks);
        _processHistory.Push(row);
        Array.Clear(_processSlot);
    }

    /// <summary>Drops the series of tenants and backends a reload removed (only when there are more than the snapshot has).</summary>
    private void Forget(RuntimeSnapshot snapshot)
    {
        var backends = 0;
        foreach (var pool in snapshot.Pools.Values)
        {
            backends += pool.Backends.Length;
        }

        if (_tenants.Count <= snapshot.Tenants.Count && _backends.Count <= backends)
        {
            return;
        }

        _seen.Clear();
        foreach (var tenant in snapshot.Tenants.Values)
        {
            _seen.Add(tenant.State);
        }

        foreach (var pool in snapshot.Pools.Values)
        {
            foreach (var backend in pool.Backends)
            {
                _seen.Add(backend);
            }
        }

        foreach (var state in _tenants.Keys)
        {
            if (!_seen.Contains(state))
            {
                _tenants.Remove(state);
            }
        }

        foreach (var backend in _backends.Keys)
        {
            if (!_seen.Contains(backend))
            {
                _backends.Remove(backend);
            }
        }

        _seen.Clear();
    }

    public void Dispose()
    {
        _timer?.Dispose();
    }

    private sealed class BackendMeter(bool fromIdle)
    {
        // From idle: the previous tick saw no request yet (0); otherwise the first update only primes (-1).
        private long _requests = fromIdle ? 0 : -1;

        public double RequestsPerSecond { get; private set; }

        public void Update(long requests, double seconds)
        {
            RequestsPerSecond = _requests >= 0 && seconds > 0 ? (requests - _requests) / seconds : 0;
            _requests = requests;
        }
    }
}
