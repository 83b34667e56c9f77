namespace LoadBalancer.Bench.Load;

/// <summary>What one measured run of the generator saw.</summary>
/// <param name="GeneratorCpu">The bench process's CPU use (generator and in-process backends), in cores.</param>
/// <param name="MachineBusy">Busy fraction of each CPU of the machine (all processes) during the window.</param>
/// <param name="TargetCpu">The proxy process's CPU use in cores, when the target is a separate process.</param>
internal sealed record LoadResult(
    double Seconds,
    long Requests,
    long Bytes,
    long Errors,
    LatencyHistogram Histogram,
    double GeneratorCpu,
    double? TargetCpu,
    long GeneratorAllocatedBytes,
    int GeneratorGen0Collections,
    double[] MachineBusy)
{
    /// <summary>Of <see cref="Errors"/>, the complete responses whose status was not 200 (the rest are connection errors).</summary>
    public long NotOkResponses { get; init; }

    /// <summary>Connections the generator opened in the window: with keep-alive, each replaces one the target closed.</summary>
    public long Connects { get; init; }

    /// <summary>CPU use in cores of backends that run as their own processes (nginx); 0 for in-process ones.</summary>
    public double BackendCpu { get; init; }

    public double RequestsPerSecond => Requests / Seconds;

    /// <summary>Response bytes (head and body) per second, in MiB like wrk's Transfer/sec.</summary>
    public double MegabytesPerSecond => Bytes / Seconds / (1024 * 1024);

    /// <summary>Cores used by everything else on the machine: all CPUs' busy time minus the bench, its backends and the proxy.</summary>
    public double OtherCores => MachineBusy.Length == 0 ? 0 : Math.Max(0, MachineBusy.Sum() - GeneratorCpu - BackendCpu - (TargetCpu ?? 0));

    public double P50Ms => Histogram.Percentile(0.50) / 1e6;

    public double P99Ms => Histogram.Percentile(0.99) / 1e6;

    public double P999Ms => Histogram.Percentile(0.999) / 1e6;
}
