using System.Diagnostics.Metrics;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Core.Metrics;

/// <summary>
/// lb's one <see cref="Meter"/> ("LoadBalancer"), for dotnet-counters and OpenTelemetry. Every instrument is
/// observable: it reads the same Interlocked counters as <c>GET /metrics</c> when a listener collects, so the data
/// path pays nothing for it. Also owns the sampled <see cref="UsageRates"/>.
/// </summary>
public sealed class LbMetrics : IDisposable
{
    public const string MeterName = "LoadBalancer";

    private readonly SnapshotHolder _holder;
    private readonly Meter _meter;

    public LbMetrics(SnapshotHolder holder, TimeSpan? ratePeriod = null)
    {
        _holder = holder;
        StartedAt = DateTimeOffset.UtcNow;
        Rates = new UsageRates(holder, ratePeriod);
        _meter = new Meter(MeterName);
        _meter.CreateObservableCounter("lb.requests", ObserveRequests, "{request}", "Requests per tenant by the status class the client got");
        _meter.CreateObservableCounter("lb.request.duration.sum", () => PerTenant(s => s.Latency.SumSeconds), "s", "Total time spent on requests per tenant");
        _meter.CreateObservableCounter("lb.bytes.received", () => PerTenant(s => s.BytesReceived), "By", "Bytes received from clients per tenant");
        _meter.CreateObservableCounter("lb.bytes.sent", () => PerTenant(s => s.BytesSent), "By", "Bytes sent to clients per tenant");
        _meter.CreateObservableUpDownCounter("lb.active_connections", () => PerTenant(s => (long)s.ActiveConnections), "{connection}", "Client connections whose latest request was for the tenant");
        _meter.CreateObservableUpDownCounter("lb.in_flight", () => PerTenant(s => (long)s.InFlight), "{request}", "Requests in flight per tenant");
        _meter.CreateObservableCounter("lb.rate_limited", () => PerTenant(s => s.RateLimited), "{request}", "Requests answered 429 by the tenant's rate_limit");
        _meter.CreateObservableCounter("lb.refused", ObserveRefused, "{request}", "Requests lb answered itself (401, 403, 413, 503) by reason");
        _meter.CreateObservableCounter("lb.backend.requests", () => PerBackend(b => b.Requests), "{request}", "Requests answered through each backend");
        _meter.CreateObservableUpDownCounter("lb.backend.active", () => PerBackend(b => (long)b.InFlight), "{request}", "Requests in flight per backend");
        _meter.CreateObservableCounter("lb.backend.connect_failures", () => PerBackend(b => b.ConnectFailures), "{failure}", "Failed connects per backend");
        _meter.CreateObservableGauge("lb.cluster.redis_up", () => ClusterGauge(c => c.RedisUp ? 1 : 0), "{up}", "1 while Redis answers the cluster sync rounds, 0 while rate limits fall back to this instance's share");
        _meter.CreateObservableGauge("lb.cluster.instances", () => ClusterGauge(c => c.Instances), "{instance}", "Live lb instances Redis last reported");
        _meter.CreateObservableCounter("lb.access_log.dropped", () => _holder.Current.AccessLog?.Dropped ?? 0, "{line}", "Access-log lines dropped because the writer fell behind");
    }

    public DateTimeOffset StartedAt { get; }

    public UsageRates Rates { get; }

    public SnapshotHolder Snapshots => _holder;

    private IEnumerable<Measurement<long>> ObserveRequests()
    {
        foreach (var tenant in _holder.Current.Tenants.Values)
        {
            for (var code = 0; code < StatusClasses.Count; code++)
            {
                yield return new Measurement<long>(tenant.State.Requests(code), new("tenant", tenant.Name), new("code", StatusClasses.Name(code)));
            }
        }
    }

    private IEnumerable<Measurement<long>> ObserveRefused()
    {
        foreach (var tenant in _holder.Current.Tenants.Values)
        {
            for (var reason = 0; reason < RefusalReasons.Count; reason++)
            {
                yield return new Measurement<long>(tenant.State.Refused(reason), new("tenant", tenant.Name), new("reason", RefusalReasons.Name(reason)));
            }
        }
    }

    private IEnumerable<Measurement<T>> PerTenant<T>(Func<TenantState, T> read)
        where T : struct
    {
        foreach (var tenant in _holder.Current.Tenants.Values)
        {
            yield return new Measurement<T>(read(tenant.State), new KeyValuePair<string, object?>("tenant", tenant.Name));
        }
    }

    /// <summary>Nothing without <c>[cluster] redis</c>; else one measurement tagged with the instance id.</summary>
    private IEnumerable<Measurement<int>> ClusterGauge(Func<Cluster.ClusterState, int> read)
    {
        if (_holder.Current.Cluster is { Redis: not null } cluster)
        {
            yield return new Measurement<int>(read(cluster.State), new KeyValuePair<string, object?>("instance_id", cluster.InstanceId));
        }
    }

    private IEnumerable<Measurement<long>> PerBackend(Func<BackendState, long> read)
    {
        foreach (var pool in _holder.Current.Pools.Values)
        {
            foreach (var backend in pool.Backends)
            {
                yield return new Measurement<long>(read(backend), new("pool", pool.Name), new("backend", backend.Config.Address));
            }
        }
    }

    public void Dispose()
    {
        _meter.Dispose();
        Rates.Dispose();
    }
}
