using System.Globalization;
using System.Net;
using System.Text;

namespace LoadBalancer.Bench.Load;

/// <summary>
/// <c>--reload</c>: does reloading lb's config every second cost throughput or connections? One lb process (its own
/// [admin] listener, <c>--no-watch</c>) under the closed-loop keep-alive load of the grid's lb row (body 0). After the
/// warm-up come two measured windows back to back on the same connections: without reloads, then with a real
/// config change (<see cref="ReloadDriver"/>) applied every second. Comparing windows of one process on one set of
/// connections keeps JIT state, connection setup and pinning out of the ratio.
/// </summary>
internal static class ReloadUnderLoad
{
    public const string WithoutReloads = "without reloads";
    public const string WithReloads = "reload every 1 s";

    public sealed record Result(
        int Connections,
        LoadResult Steady,
        LoadResult Reloading,
        int Attempted,
        int Applied,
        double MeanReloadMs,
        double MaxReloadMs,
        string? FirstSummary,
        IReadOnlyList<string> Failures,
        double Lb2xx,
        double LbOther)
    {
        public double Ratio => Steady.RequestsPerSecond > 0 ? Reloading.RequestsPerSecond / Steady.RequestsPerSecond : 0;
    }

    public static async Task<Result> RunAsync(LoadOptions options, string directory, List<BenchBackend> backends, List<string> hosts, CancellationToken cancellationToken)
    {
        foreach (var backend in backends)
        {
            backend.SetBodyBytes(0);
        }

        var lb = await LbBinary.LocateAsync(options.LbPath).ConfigureAwait(false);
        var port = LoadRunner.FreePort();
        var adminPort = LoadRunner.FreePort();
        var endPoint = new IPEndPoint(IPAddress.Loopback, port);
        var admin = new IPEndPoint(IPAddress.Loopback, adminPort);
        var endPoints = backends.Select(b => b.EndPoint).ToList();
        string Config(int weight) => PeerConfigs.Lb(port, options.Tenants, endPoints, new PeerConfigs.LbExtras(AdminPort: adminPort, FirstBackendWeight: weight));
        var config = Path.Combine(directory, "reload.toml");
        await File.WriteAllTextAsync(config, Config(1), cancellationToken).ConfigureAwait(false);
        var cpu = options.Pin ? "1" : null;
        await using var process = LoadRunner.StartLb(lb, config, cpu, options, Path.Combine(directory, "reload.log"), watch: false);
        await process.WaitReadyAsync(endPoint, hosts[0], TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        Console.WriteLine($"reload: lb pid {process.WorkerPid} on {endPoint}{(cpu is null ? "" : $", pinned to CPU {cpu}")}, admin {admin}; {options.Connections} keep-alive connections, body 0");

        var driver = new ReloadDriver(config, Config, admin);
        var before = await AdminMetrics.ReadAsync(admin).ConfigureAwait(false);
        var generator = new LoadGenerator(endPoint, hosts, options.Connections, keepAlive: true, bodyBytes: 0);
        var window = TimeSpan.FromSeconds(options.Seconds);
        var windows = await generator.RunWindowsAsync(
            TimeSpan.FromSeconds(options.Warmup),
            [window, window],
            process.CpuSeconds,
            (index, windowEnd) => index == 1 ? driver.RunAsync(windowEnd) : Task.CompletedTask,
            cancellationToken).ConfigureAwait(false);
        var after = await AdminMetrics.ReadAsync(admin).ConfigureAwait(false);
        if (process.HasExited)
        {
            throw new InvalidOperationException($"lb exited during the reload run:\n{process.LogTail()}");
        }

        var lb2xx = AdminMetrics.Sum(after, "lb_requests_total", "code=\"2xx\"") - AdminMetrics.Sum(before, "lb_requests_total", "code=\"2xx\"");
        var lbAll = AdminMetrics.Sum(after, "lb_requests_total") - AdminMetrics.Sum(before, "lb_requests_total");
        var result = new Result(options.Connections, windows[0], windows[1], driver.Attempted, driver.Applied, driver.MeanMilliseconds,
            driver.MaxMilliseconds, driver.FirstSummary, driver.Failures, lb2xx, lbAll - lb2xx);
        Console.WriteLine(Progress(WithoutReloads, result.Steady, null));
        Console.WriteLine(Progress(WithReloads, result.Reloading, result));
        return result;
    }

    private static string Progress(string name, LoadResult l, Result? reloads)
        => string.Create(CultureInfo.InvariantCulture,
            $"  {name,-17}: {l.RequestsPerSecond,9:0} req/s  p50 {l.P50Ms:0.000} p99 {l.P99Ms:0.000} p99.9 {l.P999Ms:0.000} ms  conn errors {l.Errors - l.NotOkResponses}  non-200 {l.NotOkResponses}  new connections {l.Connects}  lb CPU {l.TargetCpu ?? 0:0.00}{(reloads is null ? "" : $"  reloads applied {reloads.Applied}/{reloads.Attempted}")}");

    /// <summary>The markdown section of the report.</summary>
    public static void AppendMarkdown(StringBuilder md, Result r, bool pinned)
    {
        md.AppendLine();
        md.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"### config reload every second under load (one lb process, {r.Connections} keep-alive connections, body 0; two back-to-back {r.Steady.Seconds:0.#} s windows on the same connections; lb {(pinned ? "pinned to CPU 1" : "not pinned")})"));
        md.AppendLine();
        md.AppendLine("| window | req/s | vs without | p50 ms | p99 ms | p99.9 ms | max ms | conn errors | non-200 | new connections | reloads applied / attempted | lb CPU | CPUs busy |");
        md.AppendLine("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        Row(md, WithoutReloads, r.Steady, "1.000x", "-");
        Row(md, WithReloads, r.Reloading, r.Ratio.ToString("0.000", CultureInfo.InvariantCulture) + "x", $"{r.Applied} / {r.Attempted}");
        md.AppendLine();
        md.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"POST /reload round trip (lb reads, validates and compiles the file, then swaps the snapshot): mean {r.MeanReloadMs:0.0} ms, max {r.MaxReloadMs:0.0} ms."));
        if (r.FirstSummary is not null)
        {
            md.AppendLine($"lb's answer to the first reload: `{r.FirstSummary}`.");
        }

        foreach (var failure in r.Failures)
        {
            md.AppendLine($"Reload not applied: {failure}");
        }

        md.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"lb's own counts over the run (warm-up and both windows, admin /metrics): 2xx {r.Lb2xx:0}, any other status or none {r.LbOther:0}."));
        md.AppendLine();
        md.AppendLine("Each reload rewrites the temp lb.toml (written beside it, renamed over it) with the first backend's weight flipped");
        md.AppendLine("between 1 and 2, then POSTs /reload to lb's [admin] listener: a real change, which lb reports as that backend");
        md.AppendLine("removed and added with the new weight (its live state is kept). Applied = lb answered 200 with a diff, not");
        md.AppendLine("'unchanged' and not 422. lb runs with --no-watch so that each rewrite is exactly one reload (lb has no reload");
        md.AppendLine("metric; the count is from its answers). Reloads fall at 0.5 s, 1.5 s, ... into the second window. conn errors:");
        md.AppendLine("connections that failed or were reset mid-request; new connections: connections the generator had to open in the");
        md.AppendLine("window (with keep-alive, each one replaces a connection lb closed), so 0 / 0 / 0 means no request and no");
        md.AppendLine("connection was lost to the reloads.");
    }

    private static void Row(StringBuilder md, string name, LoadResult l, string ratio, string reloads)
        => md.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {l.RequestsPerSecond:0} | {ratio} | {l.P50Ms:0.000} | {l.P99Ms:0.000} | {l.P999Ms:0.000} | {l.Histogram.MaxNanoseconds / 1e6:0.000} | {l.Errors - l.NotOkResponses} | {l.NotOkResponses} | {l.Connects} | {reloads} | {l.TargetCpu ?? 0:0.00} | {MachineCpu.FormatBusy(l.MachineBusy)} |"));
}
