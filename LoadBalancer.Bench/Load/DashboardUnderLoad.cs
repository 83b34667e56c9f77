using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;

namespace LoadBalancer.Bench.Load;

/// <summary>
/// <c>--dashboard</c>: what an open dashboard costs the request path. One lb process (its own [admin] listener) under
/// the closed-loop keep-alive load of the grid's lb row (body 0). After the warm-up, four measured windows back to back
/// on the same connections: page closed, page open, closed, open. "Open" is what the page does every second: GET
/// /api/dashboard (one page of 50 tenants) and GET /api/dashboard/tenants/t0 (a detail view), each on a new admin
/// connection. Alternating the windows spreads drift on a shared machine over both sides of the ratio.
/// </summary>
internal static class DashboardUnderLoad
{
    public const string Closed = "page closed";
    public const string Open = "page open (1 s poll)";

    public sealed record Result(int Connections, int Tenants, LoadResult[] Windows, int Polls, double MeanPollMs, double MaxPollMs, long SummaryBytes, IReadOnlyList<string> Failures)
    {
        public double ClosedRequestsPerSecond => (Windows[0].RequestsPerSecond + Windows[2].RequestsPerSecond) / 2;

        public double OpenRequestsPerSecond => (Windows[1].RequestsPerSecond + Windows[3].RequestsPerSecond) / 2;

        public double Ratio => ClosedRequestsPerSecond > 0 ? OpenRequestsPerSecond / ClosedRequestsPerSecond : 0;
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
        var config = Path.Combine(directory, "dashboard.toml");
        await File.WriteAllTextAsync(config, PeerConfigs.Lb(port, options.Tenants, [.. backends.Select(b => b.EndPoint)], new PeerConfigs.LbExtras(AdminPort: adminPort)), cancellationToken).ConfigureAwait(false);
        var cpu = options.Pin ? "1" : null;
        await using var process = LoadRunner.StartLb(lb, config, cpu, options, Path.Combine(directory, "dashboard.log"), watch: false);
        await process.WaitReadyAsync(endPoint, hosts[0], TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        Console.WriteLine($"dashboard: lb pid {process.WorkerPid} on {endPoint}{(cpu is null ? "" : $", pinned to CPU {cpu}")}, admin {admin}; {options.Connections} keep-alive connections, body 0, {options.Tenants} tenant(s)");

        var poller = new Poller(admin);
        var generator = new LoadGenerator(endPoint, hosts, options.Connections, keepAlive: true, bodyBytes: 0);
        var window = TimeSpan.FromSeconds(options.Seconds);
        var windows = await generator.RunWindowsAsync(
            TimeSpan.FromSeconds(options.Warmup),
            [window, window, window, window],
            process.CpuSeconds,
            (index, windowEnd) => index % 2 == 1 ? poller.RunAsync(windowEnd) : Task.CompletedTask,
            cancellationToken).ConfigureAwait(false);
        if (process.HasExited)
        {
            throw new InvalidOperationException($"lb exited during the dashboard run:\n{process.LogTail()}");
        }

        var result = new Result(options.Connections, options.Tenants, windows, poller.Polls, poller.MeanMilliseconds, poller.MaxMilliseconds, poller.SummaryBytes, poller.Failures);
        for (var i = 0; i < windows.Length; i++)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {(i % 2 == 0 ? Closed : Open),-20}: {windows[i].RequestsPerSecond,9:0} req/s  p50 {windows[i].P50Ms:0.000} p99 {windows[i].P99Ms:0.000} ms  lb CPU {windows[i].TargetCpu ?? 0:0.00}"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  open / closed: {result.Ratio:0.000}x; {result.Polls} polls, mean {result.MeanPollMs:0.0} ms, max {result.MaxPollMs:0.0} ms, summary {result.SummaryBytes} bytes"));
        return result;
    }

    /// <summary>The markdown section of the report.</summary>
    public static void AppendMarkdown(StringBuilder md, Result r, bool pinned)
    {
        md.AppendLine();
        md.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"### dashboard open vs closed (one lb process, {r.Connections} keep-alive connections, body 0, {r.Tenants} tenant(s); four back-to-back {r.Windows[0].Seconds:0.#} s windows on the same connections; lb {(pinned ? "pinned to CPU 1" : "not pinned")})"));
        md.AppendLine();
        md.AppendLine("| window | req/s | p50 ms | p99 ms | p99.9 ms | conn errors | non-200 | lb CPU |");
        md.AppendLine("|---|--:|--:|--:|--:|--:|--:|--:|");
        for (var i = 0; i < r.Windows.Length; i++)
        {
            var l = r.Windows[i];
            md.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {(i % 2 == 0 ? Closed : Open)} | {l.RequestsPerSecond:0} | {l.P50Ms:0.000} | {l.P99Ms:0.000} | {l.P999Ms:0.000} | {l.Errors - l.NotOkResponses} | {l.NotOkResponses} | {l.TargetCpu ?? 0:0.00} |"));
        }

        md.AppendLine();
        md.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"Open / closed (mean of the two windows each): {r.OpenRequestsPerSecond:0} / {r.ClosedRequestsPerSecond:0} req/s = {r.Ratio:0.000}x. {r.Polls} polls (GET /api/dashboard + GET /api/dashboard/tenants/t0), mean {r.MeanPollMs:0.0} ms, max {r.MaxPollMs:0.0} ms; the summary was {r.SummaryBytes} bytes."));
        foreach (var failure in r.Failures)
        {
            md.AppendLine($"Poll failed: {failure}");
        }
    }

    /// <summary>The page's requests, once a second: the summary and one tenant's detail.</summary>
    private sealed class Poller(IPEndPoint admin)
    {
        private readonly List<double> _milliseconds = [];
        private readonly List<string> _failures = [];

        public int Polls => _milliseconds.Count;

        public double MeanMilliseconds => _milliseconds.Count == 0 ? 0 : _milliseconds.Average();

        public double MaxMilliseconds => _milliseconds.Count == 0 ? 0 : _milliseconds.Max();

        public long SummaryBytes { get; private set; }

        public IReadOnlyList<string> Failures => _failures;

        public async Task RunAsync(CancellationToken windowEnd)
        {
            var started = Stopwatch.GetTimestamp();
            for (var k = 0; ; k++)
            {
                var due = TimeSpan.FromSeconds(k) - Stopwatch.GetElapsedTime(started);
                try
                {
                    await Task.Delay(due > TimeSpan.Zero ? due : TimeSpan.Zero, windowEnd).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                var poll = Stopwatch.GetTimestamp();
                try
                {
                    var summary = await AdminClient.SendAsync(admin, "GET", "/api/dashboard?sort=load&limit=50").ConfigureAwait(false);
                    var detail = await AdminClient.SendAsync(admin, "GET", "/api/dashboard/tenants/t0").ConfigureAwait(false);
                    _milliseconds.Add(Stopwatch.GetElapsedTime(poll).TotalMilliseconds);
                    SummaryBytes = Encoding.UTF8.GetByteCount(summary.Body);
                    if ((summary.Status != 200 || detail.Status != 200) && _failures.Count < 5)
                    {
                        _failures.Add($"status {summary.Status} / {detail.Status}");
                    }
                }
                catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or OperationCanceledException or InvalidOperationException)
                {
                    if (_failures.Count < 5)
                    {
                        _failures.Add(ex.Message);
                    }
                }
            }
        }
    }
}
