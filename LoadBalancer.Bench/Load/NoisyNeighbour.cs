using System.Globalization;
using System.Net;
using System.Text;

namespace LoadBalancer.Bench.Load;

/// <summary>
/// <c>--noisy</c>: issue 5's fairness test. Tenants A and B share one pool of slow backends (each response waits
/// <c>--backend-delay-ms</c>; lb lets at most <c>max_connections_per_backend</c> requests at once into each backend,
/// so the backends, not lb, are the bottleneck). A has <c>rate_limit = { requests_per_second = R, burst = R }</c>.
/// Phase 1: B alone at a fixed open-loop rate over a few keep-alive connections. Phase 2: the same B while A offers
/// 10 x R from many connections (half keep-alive, half a new connection per request). lb runs as its own process
/// (pinned to CPU 1 with --pin); lb's own counters over each phase come from its admin /metrics.
/// </summary>
internal static class NoisyNeighbour
{
    public sealed record PhaseResult(
        string Name,
        OpenLoopGenerator.Phase B,
        OpenLoopGenerator.Phase? A,
        double LbCpu,
        double BenchCpu,
        double[] MachineBusy,
        Dictionary<string, double> Before,
        Dictionary<string, double> After)
    {
        public double Lb(string family, params string[] labels)
            => AdminMetrics.Sum(After, family, labels) - AdminMetrics.Sum(Before, family, labels);
    }

    public sealed record Result(
        int DelayMs,
        int MaxPerBackend,
        int Backends,
        int ALimit,
        int BRps,
        int BConnections,
        PhaseResult Alone,
        PhaseResult Flood)
    {
        public double Capacity => Backends * MaxPerBackend * 1000.0 / DelayMs;
    }

    public static async Task<Result> RunAsync(LoadOptions options, string directory, List<BenchBackend> backends, CancellationToken cancellationToken)
    {
        var delay = options.BackendDelayMs is int d and > 0 ? d : 20;
        foreach (var backend in backends)
        {
            backend.SetBodyBytes(0);
            backend.SetDelay(delay);
        }

        var lb = await LbBinary.LocateAsync(options.LbPath).ConfigureAwait(false);
        var port = LoadRunner.FreePort();
        var adminPort = LoadRunner.FreePort();
        var endPoint = new IPEndPoint(IPAddress.Loopback, port);
        var admin = new IPEndPoint(IPAddress.Loopback, adminPort);
        var config = Path.Combine(directory, "noisy.toml");
        await File.WriteAllTextAsync(config, PeerConfigs.LbNoisy(port, adminPort, options.NoisyLimit, options.NoisyMaxPerBackend, backends.Select(b => b.EndPoint).ToList()), cancellationToken).ConfigureAwait(false);
        var cpu = options.Pin ? "1" : null;
        await using var process = LoadRunner.StartLb(lb, config, cpu, options, Path.Combine(directory, "noisy.log"));
        await process.WaitReadyAsync(endPoint, PeerConfigs.BTenantHost, TimeSpan.FromSeconds(60)).ConfigureAwait(false);

        var capacity = backends.Count * options.NoisyMaxPerBackend * 1000.0 / delay;
        var aRate = 10.0 * options.NoisyLimit;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"noisy: lb pid {process.WorkerPid} on {endPoint}{(cpu is null ? "" : $", pinned to CPU {cpu}")}; {backends.Count} backends x max_connections_per_backend {options.NoisyMaxPerBackend} / {delay} ms = {capacity:0} req/s capacity; B {options.NoisyBRps} req/s, A limit {options.NoisyLimit} req/s, A offers {aRate:0} req/s"));

        var b = new OpenLoopGenerator(endPoint, PeerConfigs.BTenantHost, options.NoisyBRps, options.NoisyBConnections, newConnectionEvery: 0);
        var a = new OpenLoopGenerator(endPoint, PeerConfigs.ATenantHost, aRate, options.NoisyBConnections * 8, newConnectionEvery: 2);
        var warmup = TimeSpan.FromSeconds(Math.Max(1, options.Warmup));
        var measured = TimeSpan.FromSeconds(options.Seconds);
        var aStarted = false;
        b.Start();
        try
        {
            await Task.Delay(warmup, cancellationToken).ConfigureAwait(false);
            var alone = await MeasureAsync("B alone", b, null, process, admin, measured, cancellationToken).ConfigureAwait(false);

            a.Start();
            aStarted = true;
            await Task.Delay(warmup, cancellationToken).ConfigureAwait(false);
            var flood = await MeasureAsync("B + A flood", b, a, process, admin, measured, cancellationToken).ConfigureAwait(false);

            // Both stop together: B's backlog is not served by backends A has just left.
            await Task.WhenAll(a.StopAsync(TimeSpan.FromSeconds(3)), b.StopAsync(TimeSpan.FromSeconds(3))).ConfigureAwait(false);
            aStarted = false;
            if (process.HasExited)
            {
                throw new InvalidOperationException($"lb exited during the noisy run:\n{process.LogTail()}");
            }

            var result = new Result(delay, options.NoisyMaxPerBackend, backends.Count, options.NoisyLimit, options.NoisyBRps, options.NoisyBConnections, alone, flood);
            foreach (var phase in new[] { alone, flood })
            {
                Console.WriteLine(Progress(phase));
            }

            return result;
        }
        finally
        {
            if (aStarted)
            {
                await a.StopAsync(TimeSpan.FromSeconds(3)).ConfigureAwait(false);
            }

            await b.StopAsync(TimeSpan.FromSeconds(3)).ConfigureAwait(false);
            foreach (var backend in backends)
            {
                backend.SetDelay(options.BackendDelayMs ?? 0);
            }
        }
    }

    private static async Task<PhaseResult> MeasureAsync(string name, OpenLoopGenerator b, OpenLoopGenerator? a, ChildProcess process, IPEndPoint admin, TimeSpan measured, CancellationToken cancellationToken)
    {
        var before = await AdminMetrics.ReadAsync(admin).ConfigureAwait(false);
        var cpuBefore = process.CpuSeconds();
        using var self = System.Diagnostics.Process.GetCurrentProcess();
        var benchBefore = self.TotalProcessorTime;
        var machineBefore = MachineCpu.Read();
        var bPhase = new OpenLoopGenerator.Phase();
        var aPhase = a is null ? null : new OpenLoopGenerator.Phase();
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        b.BeginPhase(bPhase);
        if (aPhase is not null)
        {
            a!.BeginPhase(aPhase);
        }

        await Task.Delay(measured, cancellationToken).ConfigureAwait(false);
        b.EndPhase(bPhase);
        if (aPhase is not null)
        {
            a!.EndPhase(aPhase);
        }

        var seconds = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds;
        var lbCpu = (process.CpuSeconds() - cpuBefore) / seconds;
        self.Refresh();
        var benchCpu = (self.TotalProcessorTime - benchBefore).TotalSeconds / seconds;
        var machineBusy = MachineCpu.Read().BusySince(machineBefore);
        var after = await AdminMetrics.ReadAsync(admin).ConfigureAwait(false);

        return new PhaseResult(name, bPhase, aPhase, lbCpu, benchCpu, machineBusy, before, after);
    }

    private static string Progress(PhaseResult p)
    {
        var b = p.B;
        var latency = b.OkLatency;
        var line = string.Create(CultureInfo.InvariantCulture,
            $"  {p.Name,-12}: B scheduled {b.Scheduled} sent {b.Sent} ok {b.Ok} ({b.SuccessRate * 100:0.00}%) 503 {b.Unavailable} errors {b.Errors} p50 {latency.Percentile(0.5) / 1e6:0.00} p99 {latency.Percentile(0.99) / 1e6:0.00} ms; lb CPU {p.LbCpu:0.00}, bench CPU {p.BenchCpu:0.00}, CPUs busy {MachineCpu.FormatBusy(p.MachineBusy)}");
        if (p.A is { } a)
        {
            line += string.Create(CultureInfo.InvariantCulture, $"; A sent {a.Sent} ok {a.Ok} 429 {a.TooMany} 503 {a.Unavailable} errors {a.Errors}");
        }

        return line;
    }

    /// <summary>The markdown section of the report.</summary>
    public static void AppendMarkdown(StringBuilder md, Result r, bool pinned)
    {
        md.AppendLine();
        md.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"### noisy neighbour: {r.Backends} backends x max_connections_per_backend {r.MaxPerBackend}, {r.DelayMs} ms per response = {r.Capacity:0} req/s capacity; B {r.BRps} req/s open loop on keep-alive connections (pool of {r.BConnections}, grown when all are busy); A rate_limit {r.ALimit} req/s (burst {r.ALimit}), offering {10 * r.ALimit} req/s open loop, every other request on a new connection, the rest on a growing keep-alive pool; lb {(pinned ? "pinned to CPU 1" : "not pinned")}"));
        md.AppendLine();
        md.AppendLine("| phase | tenant | offered req/s | sent | 200 | 200/s | 429 | 503 | other | conn errors | not sent (client cap) | success | p50 ms | p99 ms | p99.9 ms | max ms | peak client conns | lb CPU | bench CPU | CPUs busy |");
        md.AppendLine("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        foreach (var phase in new[] { r.Alone, r.Flood })
        {
            Row(md, phase.Name, "B", phase.B, r.BRps, phase);
            if (phase.A is { } a)
            {
                Row(md, phase.Name, "A", a, 10 * r.ALimit, phase);
            }
        }

        var alone = r.Alone.B.OkLatency;
        var flood = r.Flood.B.OkLatency;
        md.AppendLine();
        md.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"B under A's flood vs alone: success {r.Flood.B.SuccessRate * 100:0.00}% vs {r.Alone.B.SuccessRate * 100:0.00}%, p50 {Ratio(flood.Percentile(0.5), alone.Percentile(0.5))}, p99 {Ratio(flood.Percentile(0.99), alone.Percentile(0.99))} (issue 5 asks: 100% and p50 within 2x)."));
        md.AppendLine();
        md.AppendLine("lb's own counters over each measured window (admin /metrics):");
        md.AppendLine();
        md.AppendLine("| phase | tenant | 2xx | 429 (rate_limited) | 503 backend_busy | 5xx | requests that waited for a backend slot (all tenants) |");
        md.AppendLine("|---|---|--:|--:|--:|--:|--:|");
        foreach (var phase in new[] { r.Alone, r.Flood })
        {
            foreach (var tenant in phase.A is null ? new[] { "b" } : ["b", "a"])
            {
                var t = $"tenant=\"{tenant}\"";
                md.AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {phase.Name} | {tenant.ToUpperInvariant()} | {phase.Lb("lb_requests_total", t, "code=\"2xx\""):0} | {phase.Lb("lb_rate_limited_total", t):0} | {phase.Lb("lb_refused_total", t, "reason=\"backend_busy\""):0} | {phase.Lb("lb_requests_total", t, "code=\"5xx\""):0} | {(tenant == "b" ? phase.Lb("lb_backend_queued_total").ToString("0", CultureInfo.InvariantCulture) : "")} |"));
            }
        }

        md.AppendLine();
        md.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"Backends served (lb 2xx, both tenants) {(r.Alone.Lb("lb_requests_total", "code=\"2xx\"") / r.Alone.B.Seconds):0} req/s alone and {(r.Flood.Lb("lb_requests_total", "code=\"2xx\"") / r.Flood.B.Seconds):0} req/s under the flood (nominal capacity {r.Capacity:0}; each response takes a little over {r.DelayMs} ms)."));
        md.AppendLine();
        md.AppendLine("Open loop: each tenant sends on a fixed schedule whatever its earlier requests are doing (an idle keep-alive");
        md.AppendLine("connection of its pool, or a new one when all are busy), so a slow answer never delays the next request.");
        md.AppendLine("Latency is from each request's scheduled time to its last response byte, over the 200 answers; success = 200 /");
        md.AppendLine("requests scheduled inside the window (answered after it included). The backends'");
        md.AppendLine($"own {r.DelayMs} ms is in every latency; the rest is lb, the generator, and waiting for a backend slot (lb's queue, up to");
        md.AppendLine("timeouts.queue = 1 s, then 503).");
    }

    private static void Row(StringBuilder md, string phase, string tenant, OpenLoopGenerator.Phase p, double offered, PhaseResult cpu)
    {
        var latency = p.OkLatency;
        md.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"| {phase} | {tenant} | {offered:0} | {p.Sent} | {p.Ok} | {p.Ok / p.Seconds:0} | {p.TooMany} | {p.Unavailable} | {p.OtherStatus} | {p.Errors} | {p.Unsent} | {p.SuccessRate * 100:0.00}% | {latency.Percentile(0.5) / 1e6:0.00} | {latency.Percentile(0.99) / 1e6:0.00} | {latency.Percentile(0.999) / 1e6:0.00} | {latency.MaxNanoseconds / 1e6:0.00} | {p.PeakConnections} | {cpu.LbCpu:0.00} | {cpu.BenchCpu:0.00} | {MachineCpu.FormatBusy(cpu.MachineBusy)} |"));
    }

    private static string Ratio(long value, long baseline)
        => baseline <= 0 ? "-" : (value / (double)baseline).ToString("0.00", CultureInfo.InvariantCulture) + "x";
}
