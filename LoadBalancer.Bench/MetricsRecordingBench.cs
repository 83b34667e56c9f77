using System.Diagnostics;
using System.Net;
using BenchmarkDotNet.Attributes;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;
using LoadBalancer.Core.Http1;

namespace LoadBalancer.Bench;

/// <summary>
/// The accounting every request pays at its end (Http1Connection.EndRequest): the tenant's CountRequest (status class,
/// bytes both ways, latency histogram) plus the backend's request count, and the histogram record alone. Metrics
/// have no off switch, so this is their whole per-request cost; Allocated must read 0 B. One thread, so these are
/// uncontended Interlocked adds: under load, connections of one tenant on other cores share these cache lines.
/// The latency picks the histogram bucket: 0.5 ms stops at the first bound, 3 s passes eleven of the thirteen first.
/// </summary>
[MemoryDiagnoser]
public class MetricsRecordingBench
{
    private TenantState _tenant = null!;
    private BackendState _backend = null!;
    private long _elapsedTicks;

    [Params(0.5, 3000)]
    public double LatencyMs { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _tenant = new TenantState("tenant");
        _backend = new BackendState(new Backend("127.0.0.1:9001", new IPEndPoint(IPAddress.Loopback, 9001), 1));
        _elapsedTicks = (long)(LatencyMs / 1000 * Stopwatch.Frequency);
    }

    /// <summary>What EndRequest records for a request answered through a backend (no access key, no access log).</summary>
    [Benchmark(Baseline = true)]
    public void EndRequestAccounting()
    {
        _tenant.CountRequest(200, 180, 1_200, _elapsedTicks);
        _backend.CountRequest();
    }

    [Benchmark]
    public void TenantCountRequest() => _tenant.CountRequest(200, 180, 1_200, _elapsedTicks);

    [Benchmark]
    public void LatencyRecord() => _tenant.Latency.Record(_elapsedTicks);
}
