using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using LoadBalancer.Core.Http1;

namespace LoadBalancer.Bench.Load;

/// <summary>Collects the scenario results and prints them as markdown (and JSON).</summary>
internal sealed class LoadReport(LoadOptions options)
{
    private readonly List<ScenarioResult> _results = [];
    private readonly List<(string Target, IdleProbe.IdleResult Idle)> _idle = [];
    private readonly DateTimeOffset _started = DateTimeOffset.Now;

    public List<string> Notes { get; } = [];

    public string? LbPath { get; set; }

    /// <summary>The runtime settings the (last) lb child ran with, see <see cref="LbRuntimeSettings"/>.</summary>
    public string? LbSettings { get; set; }

    /// <summary>Which backends the grid ran on (<see cref="BackendSet.Description"/>).</summary>
    public string? Backends { get; set; }

    /// <summary>Target names in run order (with --accounting the lb peer is three targets).</summary>
    public List<string> TargetOrder { get; } = [];

    public NoisyNeighbour.Result? Noisy { get; set; }

    public ReloadUnderLoad.Result? Reload { get; set; }

    public DashboardUnderLoad.Result? Dashboard { get; set; }

    public void Add(ScenarioResult result) => _results.Add(result);

    public void AddIdle(string target, IdleProbe.IdleResult idle) => _idle.Add((target, idle));

    private readonly List<(string Target, H2loadRunner.H2loadResult Result)> _h2load = [];

    public void AddH2load(string target, H2loadRunner.H2loadResult result) => _h2load.Add((target, result));

    private string UnitSetting => options.UnitEnvironment
        ? $"deploy/lb.service's environment ({string.Join(", ", LoadRunner.LbUnitEnvironment.Select(kv => $"{kv.Key}={kv.Value}"))})"
        : "without deploy/lb.service's environment (--no-unit-env: runtimeconfig only)";

    private string TcSetting => options.TcMultiplier ? "DOTNET_TC_DelaySingleProcMultiplier=1 set" : "DOTNET_TC_DelaySingleProcMultiplier not set (default tier-up delay)";

    public void PrintHeader()
    {
        Console.WriteLine($"lb load bench, {_started:yyyy-MM-dd HH:mm}, {Environment.ProcessorCount} CPU(s) visible to the bench, {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.OSDescription}");
        Console.WriteLine($"  generator: built-in closed loop, {options.Connections} connections, {options.Warmup:0.#} s warm-up + {options.Seconds:0.#} s measured per scenario");
        Console.WriteLine($"  backends: {Backends ?? "(none: no throughput grid)"}; tenants: {options.Tenants}");
        Console.WriteLine(options.Pin
            ? "  pinning: proxy under test on CPU 1 (taskset -c 1); generator, backends and wrk on CPU 0"
            : "  pinning: none (everything shares all CPUs; use --pin for one core per side)");
        Console.WriteLine($"  lb child: {TcSetting}; {UnitSetting}; socket engine: {Environment.GetEnvironmentVariable("LB_SOCKET_ENGINE") ?? "epoll"}");
        if (options.DotnetWarmup is double dotnetWarmup)
        {
            Console.WriteLine($"  .NET targets (lb, yarp): {dotnetWarmup:0.#} s warm-up before their first scenario");
        }
        if (options.Accounting)
        {
            Console.WriteLine("  --accounting: lb three ways (as generated; + [access_log] to a file; + rate_limit 1e6/s and access_keys, key sent); metrics counters are always on");
        }

        if (options.Reload)
        {
            Console.WriteLine("  --reload: one lb, keep-alive, body 0: a window without reloads, then one with lb.toml rewritten and POST /reload every second");
        }

        if (options.Dashboard)
        {
            Console.WriteLine("  --dashboard: one lb, keep-alive, body 0: windows with the dashboard closed, open (its JSON polled every second), closed, open");
        }
    }

    public void PrintProgress(ScenarioResult r)
    {
        var l = r.Load;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {r.Target,-18} {r.Mode,-9} body {r.BodyBytes,6}: {l.RequestsPerSecond,9:0} req/s {l.MegabytesPerSecond,8:0.0} MB/s  p50 {l.P50Ms:0.000} p99 {l.P99Ms:0.000} p99.9 {l.P999Ms:0.000} ms  errors {l.Errors}  proxy CPU {Cpu(l.TargetCpu)} ({PerCpu(l)} req per CPU-s)  bench CPU {Cpu(l.GeneratorCpu)}{(l.BackendCpu > 0 ? $"  backends CPU {Cpu(l.BackendCpu)}" : "")}  CPUs busy {MachineCpu.FormatBusy(l.MachineBusy)}  load {LoadAverage.Format(r.LoadAverage)}"));
        if (r.Wrk is { } w)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {"",-18} {"(wrk)",-9} {"",11}  {w.RequestsPerSecond,9:0} req/s {w.MegabytesPerSecond,8:0.0} MB/s  p50 {w.P50Ms:0.000} p99 {w.P99Ms:0.000} ms  errors {w.Errors}"));
            foreach (var line in w.Raw.Split('\n').Where(l => l.Contains("Socket errors", StringComparison.Ordinal) || l.Contains("Non-2xx", StringComparison.Ordinal)))
            {
                Console.WriteLine($"  {"",-8} (wrk) {line.Trim()}");
            }
        }
    }

    public void PrintTables()
    {
        var md = new StringBuilder();
        if (_results.Count == 0)
        {
            AppendScenarioSets(md);
            foreach (var note in Notes)
            {
                md.AppendLine("Note: " + note);
            }

            Console.Write(md.ToString());
            return;
        }

        md.AppendLine();
        md.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"### lb load bench ({_started:yyyy-MM-dd HH:mm}; {options.Connections} connections; {options.Seconds:0.#} s measured after {options.Warmup:0.#} s warm-up{(options.DotnetWarmup is double dw ? $" ({dw:0.#} s before a .NET target's first scenario)" : "")}; {options.Tenants} tenant(s); {(options.Pin ? "proxy pinned to CPU 1 (with N threads the last N CPUs), generator+backends to CPU 0" : "not pinned")}{(options.Threads is [1] ? "" : $"; proxy threads {string.Join(",", options.Threads)} (lb loops via DOTNET_PROCESSOR_COUNT, HAProxy nbthread)")}; lb child: {TcSetting}, {UnitSetting})"));
        md.AppendLine();
        md.AppendLine($"Backends: {Backends}.");
        if (LbSettings is not null)
        {
            md.AppendLine($"lb ran with: {LbSettings}.");
        }
        md.AppendLine();
        md.AppendLine("| target | mode | body B | req/s | MB/s | p50 ms | p99 ms | p99.9 ms | errors | proxy CPU | req per proxy CPU-s | bench CPU | CPUs busy | other cores | load avg 1/5/15 | vs direct | vs haproxy |");
        md.AppendLine("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        foreach (var r in Ordered())
        {
            var l = r.Load;
            md.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Target} | {r.Mode} | {r.BodyBytes} | {l.RequestsPerSecond:0} | {l.MegabytesPerSecond:0.0} | {l.P50Ms:0.000} | {l.P99Ms:0.000} | {l.P999Ms:0.000} | {l.Errors} | {Cpu(l.TargetCpu)} | {PerCpu(l)} | {Cpu(l.GeneratorCpu)} | {MachineCpu.FormatBusy(l.MachineBusy)} | {l.OtherCores:0.00} | {LoadAverage.Format(r.LoadAverage)} | {Ratio(r, "direct")} | {Ratio(r, "haproxy")} |"));
        }

        if (_results.Any(r => r.Wrk is not null))
        {
            md.AppendLine();
            md.AppendLine($"wrk -t1 -c{options.Connections} -d{options.Seconds:0}s --latency (one Host name), right after the generator's run on the same target:");
            md.AppendLine();
            md.AppendLine("| target | mode | body B | req/s | MB/s | p50 ms | p99 ms | errors | vs direct | vs haproxy |");
            md.AppendLine("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|");
            foreach (var r in Ordered().Where(r => r.Wrk is not null))
            {
                var w = r.Wrk!;
                md.AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {r.Target} | {r.Mode} | {r.BodyBytes} | {w.RequestsPerSecond:0} | {w.MegabytesPerSecond:0.0} | {w.P50Ms:0.000} | {w.P99Ms:0.000} | {w.Errors} | {WrkRatio(r, "direct")} | {WrkRatio(r, "haproxy")} |"));
            }
        }

        if (_h2load.Count > 0)
        {
            md.AppendLine();
            md.AppendLine($"h2load -t1 -cC -mM -D {options.Seconds:0} (HTTP/2 prior knowledge to the proxy, HTTP/1.1 keep-alive behind it, one Host), before the generator's scenarios:");
            md.AppendLine();
            md.AppendLine("| target | connections x streams | req/s | p50 ms | p99 ms | succeeded | failed | req per proxy CPU-s | vs haproxy |");
            md.AppendLine("|---|---|--:|--:|--:|--:|--:|--:|--:|");
            foreach (var (target, h) in _h2load)
            {
                var haproxy = _h2load.FirstOrDefault(x => x.Target == "haproxy" && x.Result.Connections == h.Connections && x.Result.Streams == h.Streams).Result;
                var perCpu = h.ProxyCpuSeconds > 0 ? h.RequestsPerSecond * options.Seconds / h.ProxyCpuSeconds : double.NaN;
                md.AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {target} | {h.Connections} x {h.Streams} | {h.RequestsPerSecond:0} | {h.P50Ms:0.000} | {h.P99Ms:0.000} | {h.Succeeded} | {h.Failed} | {perCpu:0} | {(haproxy is { RequestsPerSecond: > 0 } ? (h.RequestsPerSecond / haproxy.RequestsPerSecond).ToString("0.00", CultureInfo.InvariantCulture) + "x" : "")} |"));
            }
        }

        if (_idle.Count > 0)
        {
            md.AppendLine();
            md.AppendLine("Idle keep-alive connections on a fresh proxy: one connection sends 200 requests and closes, 2 s, RSS (before);");
            md.AppendLine("N connections opened one after another, one GET each, left open, 2 s, RSS; N more, 2 s, RSS.");
            md.AppendLine();
            md.AppendLine("| target | RSS before KiB | open | RSS KiB | KiB per idle connection | open | RSS KiB | slope KiB per connection | vs haproxy |");
            md.AppendLine("|---|--:|--:|--:|--:|--:|--:|--:|--:|");
            var haproxyIdle = _idle.FirstOrDefault(i => i.Target == "haproxy").Idle;
            foreach (var (target, idle) in _idle)
            {
                var versus = haproxyIdle is { KibPerConnection: > 0 } h ? (idle.KibPerConnection / h.KibPerConnection).ToString("0.00", CultureInfo.InvariantCulture) + "x" : "";
                md.AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {target} | {idle.RssBeforeKib} | {idle.Opened} | {idle.RssAfterKib} | {idle.KibPerConnection:0.00} | {idle.OpenedDouble} | {idle.RssDoubleKib} | {idle.SlopeKib:0.00} | {versus} |"));
            }
        }

        md.AppendLine();
        md.AppendLine("req/s and MB/s (MiB of response head+body, like wrk) count only 200 responses completed inside the measured window;");
        md.AppendLine("latency is per request (send to last body byte), log-linear histogram (<0.8% error). proxy CPU / bench CPU: cores used");
        md.AppendLine("during the window by the proxy process (nginx: its worker) and by the bench process (generator + backends); a side at");
        md.AppendLine("~1.00 while pinned to one core is the bottleneck. CPUs busy: how busy each CPU was (all processes on the machine,");
        md.AppendLine("from /proc/stat), so 'proxy CPU 0.50, CPUs busy .../100%' means other work took half the proxy's core.");
        md.AppendLine("other cores: CPU used by everything else (all busy time minus proxy and bench; includes some kernel network work).");
        md.AppendLine("direct = the generator straight to one backend. nginx backends' CPU is neither bench CPU nor other cores (printed per scenario above).");
        // Direct rows leave CPU 1 free, and other work on a shared machine takes it: that does not slow the direct run.
        var proxied = _results.Where(r => r.Load.TargetCpu is not null).ToList();
        var noisiest = proxied.Count == 0 ? 0 : proxied.Max(r => r.Load.OtherCores);
        if (noisiest > 0.25)
        {
            md.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"WARNING: other work used up to {noisiest:0.00} cores during a proxy's measurement: the proxies did not get their core, so rates and ratios are not trustworthy. Rerun on a quiet machine."));
        }

        var keepAlive = _results.Where(r => r.KeepAlive && r.Load.Requests > 0).ToList();
        if (keepAlive.Count > 0)
        {
            var worst = keepAlive.Max(r => r.Load.GeneratorAllocatedBytes / (double)r.Load.Requests);
            md.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"Bench process allocations in keep-alive scenarios: at most {worst:0.00} B per request (gen0 GCs: {keepAlive.Sum(r => r.Load.GeneratorGen0Collections)})."));
        }

        AppendAccounting(md);
        AppendScenarioSets(md);
        if (LbPath is not null)
        {
            md.AppendLine($"lb: {LbPath} (built {File.GetLastWriteTime(Path.ChangeExtension(LbPath, ".dll")):yyyy-MM-dd HH:mm})");
        }

        foreach (var note in Notes)
        {
            md.AppendLine("Note: " + note);
        }

        Console.Write(md.ToString());
    }

    /// <summary>The sections of --noisy and --reload, which run on their own lb rather than as rows of the grid.</summary>
    private void AppendScenarioSets(StringBuilder md)
    {
        if (Noisy is not null)
        {
            NoisyNeighbour.AppendMarkdown(md, Noisy, options.Pin);
        }

        if (Reload is not null)
        {
            ReloadUnderLoad.AppendMarkdown(md, Reload, options.Pin);
        }

        if (Dashboard is not null)
        {
            DashboardUnderLoad.AppendMarkdown(md, Dashboard, options.Pin);
        }
    }

    /// <summary>--accounting: the cost of the access log and of rate limiting plus access keys, against plain lb in the same run.</summary>
    private void AppendAccounting(StringBuilder md)
    {
        var rows = Ordered().Where(r => r.Target is LoadRunner.AccountingPlain or LoadRunner.AccountingLog or LoadRunner.AccountingLimits or LoadRunner.AccountingApi && r.Counters is not null).ToList();
        if (!options.Accounting || rows.Count == 0)
        {
            return;
        }

        md.AppendLine();
        md.AppendLine("### cost of accounting (same load, same run; lb pinned like the rows above)");
        md.AppendLine();
        md.AppendLine("| lb setup | mode | body B | req/s | vs (a) | p50 ms | p99 ms | proxy CPU | req per proxy CPU-second | vs (a) | lb 2xx | 429 | key-admitted | log lines | log dropped | log MiB |");
        md.AppendLine("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        foreach (var r in rows)
        {
            var l = r.Load;
            var c = r.Counters!;
            var plain = _results.FirstOrDefault(o => o.Target == LoadRunner.AccountingPlain && o.KeepAlive == r.KeepAlive && o.BodyBytes == r.BodyBytes);
            var label = r.Target switch
            {
                LoadRunner.AccountingPlain => "(a) lb as generated",
                LoadRunner.AccountingLog => "(b) + [access_log] file",
                LoadRunner.AccountingLimits => "(c) + rate_limit + access_keys",
                _ => "(d) + route (2 header edits) + consumer key, rate_limit, quota + [usage] ledger",
            };
            var perCpu = l.TargetCpu is > 0 ? l.RequestsPerSecond / l.TargetCpu.Value : 0;
            var plainPerCpu = plain?.Load.TargetCpu is > 0 ? plain.Load.RequestsPerSecond / plain.Load.TargetCpu.Value : 0;
            md.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {label} | {r.Mode} | {r.BodyBytes} | {l.RequestsPerSecond:0} | {(plain is { Load.Requests: > 0 } ? (l.RequestsPerSecond / plain.Load.RequestsPerSecond).ToString("0.000", CultureInfo.InvariantCulture) + "x" : "")} | {l.P50Ms:0.000} | {l.P99Ms:0.000} | {Cpu(l.TargetCpu)} | {perCpu:0} | {(plainPerCpu > 0 ? (perCpu / plainPerCpu).ToString("0.000", CultureInfo.InvariantCulture) + "x" : "")} | {c.Requests2xx:0} | {c.RateLimited:0} | {c.KeyRequests:0} | {c.LogLines:0} | {c.LogDropped:0} | {c.LogFileBytes / (1024.0 * 1024):0.0} |"));
        }

        md.AppendLine();
        md.AppendLine("(a) the generated lb.toml (plus an idle [admin] listener, used to read the counters); (b) adds [access_log] with a");
        md.AppendLine("file in the run's temp dir; (c) gives every tenant rate_limit = { requests_per_second = 1000000, burst = 1000000 }");
        md.AppendLine("(the token bucket runs on every request and never refuses) and access_keys with one key, which the generator");
        md.AppendLine("sends as Authorization: Bearer (lb hashes it with SHA-256 and compares in constant time, then strips it).");
        md.AppendLine("Metrics counters are always on in lb (no switch): their cost is inside (a). A true 'metrics off' row would need lb");
        md.AppendLine("to skip the per-request counting (Http1Connection.EndRequest: TenantState.CountRequest, the latency histogram, key and");
        md.AppendLine("backend counters; a few Interlocked adds per request) behind a setting, which would also empty /api/usage (billing).");
        md.AppendLine("lb counters (2xx, 429, key-admitted, log lines/dropped) are deltas over the scenario, warm-up included; log MiB is");
        md.AppendLine("the access log's size at the end (a dropped line is not written, so dropped > 0 makes (b) look cheaper than it is).");
    }

    private IEnumerable<ScenarioResult> Ordered()
        => _results
            .OrderBy(r => r.KeepAlive ? 0 : 1)
            .ThenBy(r => r.BodyBytes)
            .ThenBy(r => TargetOrder.IndexOf(r.Target));

    /// <summary>The same scenario on <paramref name="target"/>; with --threads, on its run with as many threads (lb-t2 vs haproxy-t2).</summary>
    private ScenarioResult? Find(ScenarioResult r, string target)
    {
        var dash = r.Target.LastIndexOf("-t", StringComparison.Ordinal);
        var threaded = dash > 0 && target != "direct" ? target + r.Target[dash..] : target;
        return _results.FirstOrDefault(o => o.Target == threaded && o.KeepAlive == r.KeepAlive && o.BodyBytes == r.BodyBytes)
            ?? _results.FirstOrDefault(o => o.Target == target && o.KeepAlive == r.KeepAlive && o.BodyBytes == r.BodyBytes);
    }

    private string Ratio(ScenarioResult r, string target)
        => Find(r, target) is { Load.Requests: > 0 } other
            ? (r.Load.RequestsPerSecond / other.Load.RequestsPerSecond).ToString("0.00", CultureInfo.InvariantCulture) + "x"
            : "";

    private string WrkRatio(ScenarioResult r, string target)
        => Find(r, target) is { Wrk.RequestsPerSecond: > 0 } other
            ? (r.Wrk!.RequestsPerSecond / other.Wrk!.RequestsPerSecond).ToString("0.00", CultureInfo.InvariantCulture) + "x"
            : "";

    private static string Cpu(double? cores) => cores is double c ? c.ToString("0.00", CultureInfo.InvariantCulture) : "-";

    /// <summary>Requests per second of proxy CPU time: what a proxy does with a core, whatever the machine lets it have.</summary>
    private static string PerCpu(LoadResult l)
        => l.TargetCpu is double c && c > 0 ? (l.RequestsPerSecond / c).ToString("0", CultureInfo.InvariantCulture) : "-";

    public async Task WriteJsonAsync(string path)
    {
        var document = new
        {
            started = _started,
            processorCount = Environment.ProcessorCount,
            framework = RuntimeInformation.FrameworkDescription,
            os = RuntimeInformation.OSDescription,
            connections = options.Connections,
            warmupSeconds = options.Warmup,
            seconds = options.Seconds,
            tenants = options.Tenants,
            backends = Backends,
            lbRuntimeSettings = LbSettings,
            pinned = options.Pin,
            tcDelaySingleProcMultiplier = options.TcMultiplier ? "1" : null,
            lb = LbPath,
            results = Ordered().Select(ResultJson).ToList(),
            idle = _idle.Select(i => new
            {
                target = i.Target,
                connections = i.Idle.Opened,
                rssBeforeKib = i.Idle.RssBeforeKib,
                rssAfterKib = i.Idle.RssAfterKib,
                kibPerConnection = i.Idle.KibPerConnection,
                connectionsDoubled = i.Idle.OpenedDouble,
                rssDoubledKib = i.Idle.RssDoubleKib,
                slopeKibPerConnection = i.Idle.SlopeKib,
            }).ToList(),
            noisy = Noisy is null ? null : new
            {
                backendDelayMs = Noisy.DelayMs,
                maxConnectionsPerBackend = Noisy.MaxPerBackend,
                backends = Noisy.Backends,
                aRateLimit = Noisy.ALimit,
                bRequestsPerSecond = Noisy.BRps,
                phases = new[] { Noisy.Alone, Noisy.Flood }.Select(p => new
                {
                    name = p.Name,
                    lbCpuCores = p.LbCpu,
                    benchCpuCores = p.BenchCpu,
                    tenants = new[] { ("B", p.B), ("A", p.A) }.Where(t => t.Item2 is not null).Select(t => new
                    {
                        tenant = t.Item1,
                        scheduled = t.Item2!.Scheduled,
                        sent = t.Item2.Sent,
                        ok = t.Item2.Ok,
                        tooMany = t.Item2.TooMany,
                        unavailable = t.Item2.Unavailable,
                        otherStatus = t.Item2.OtherStatus,
                        errors = t.Item2.Errors,
                        unsent = t.Item2.Unsent,
                        successRate = t.Item2.SuccessRate,
                        p50Ms = t.Item2.OkLatency.Percentile(0.5) / 1e6,
                        p99Ms = t.Item2.OkLatency.Percentile(0.99) / 1e6,
                        p999Ms = t.Item2.OkLatency.Percentile(0.999) / 1e6,
                        peakConnections = t.Item2.PeakConnections,
                    }).ToList(),
                }).ToList(),
            },
            reload = Reload is null ? null : new
            {
                connections = Reload.Connections,
                ratio = Reload.Ratio,
                reloadsAttempted = Reload.Attempted,
                reloadsApplied = Reload.Applied,
                reloadMeanMs = Reload.MeanReloadMs,
                reloadMaxMs = Reload.MaxReloadMs,
                firstReloadSummary = Reload.FirstSummary,
                failures = Reload.Failures,
                lbRequests2xx = Reload.Lb2xx,
                lbRequestsOther = Reload.LbOther,
                windows = new[] { (ReloadUnderLoad.WithoutReloads, Reload.Steady), (ReloadUnderLoad.WithReloads, Reload.Reloading) }
                    .Select(w => ResultJson(new ScenarioResult($"lb, {w.Item1}", KeepAlive: true, BodyBytes: 0, w.Item2))).ToList(),
            },
            dashboard = Dashboard is null ? null : new
            {
                connections = Dashboard.Connections,
                tenants = Dashboard.Tenants,
                ratio = Dashboard.Ratio,
                polls = Dashboard.Polls,
                pollMeanMs = Dashboard.MeanPollMs,
                pollMaxMs = Dashboard.MaxPollMs,
                summaryBytes = Dashboard.SummaryBytes,
                windows = Dashboard.Windows.Select((w, i) => ResultJson(new ScenarioResult($"lb, {(i % 2 == 0 ? DashboardUnderLoad.Closed : DashboardUnderLoad.Open)}", KeepAlive: true, BodyBytes: 0, w))).ToList(),
            },
            notes = Notes,
        };
        await using var stream = File.Create(path);
        await JsonSerializer.SerializeAsync(stream, document, new JsonSerializerOptions { WriteIndented = true }).ConfigureAwait(false);
    }

    /// <summary>One row of the JSON results; --reload's windows use it too, as rows of their own.</summary>
    private object ResultJson(ScenarioResult r)
        => new
        {
            target = r.Target,
            mode = r.Mode,
            bodyBytes = r.BodyBytes,
            loadAverage = r.LoadAverage,
            requestsPerProxyCpuSecond = r.Load.TargetCpu is double c && c > 0 ? r.Load.RequestsPerSecond / c : (double?)null,
            seconds = r.Load.Seconds,
            requests = r.Load.Requests,
            errors = r.Load.Errors,
            notOkResponses = r.Load.NotOkResponses,
            newConnections = r.Load.Connects,
            requestsPerSecond = r.Load.RequestsPerSecond,
            mebibytesPerSecond = r.Load.MegabytesPerSecond,
            p50Ms = r.Load.P50Ms,
            p99Ms = r.Load.P99Ms,
            p999Ms = r.Load.P999Ms,
            maxMs = r.Load.Histogram.MaxNanoseconds / 1e6,
            proxyCpuCores = r.Load.TargetCpu,
            benchCpuCores = r.Load.GeneratorCpu,
            backendCpuCores = r.Load.BackendCpu,
            benchAllocatedBytes = r.Load.GeneratorAllocatedBytes,
            machineCpuBusy = r.Load.MachineBusy,
            otherCores = r.Load.OtherCores,
            ratioVsDirect = Find(r, "direct") is { Load.Requests: > 0 } d ? r.Load.RequestsPerSecond / d.Load.RequestsPerSecond : (double?)null,
            ratioVsHaproxy = Find(r, "haproxy") is { Load.Requests: > 0 } h ? r.Load.RequestsPerSecond / h.Load.RequestsPerSecond : (double?)null,
            lbCounters = r.Counters,
            wrk = r.Wrk is null ? null : new
            {
                requestsPerSecond = r.Wrk.RequestsPerSecond,
                mebibytesPerSecond = r.Wrk.MegabytesPerSecond,
                p50Ms = r.Wrk.P50Ms,
                p99Ms = r.Wrk.P99Ms,
                errors = r.Wrk.Errors,
            },
        };
}
