using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace LoadBalancer.Bench.Load;

/// <summary>
/// The <c>load</c> verb: starts the in-process backends, then for each target (lb as its own process, the first
/// backend directly, HAProxy and nginx when installed) runs every mode x body scenario with the built-in generator
/// (and wrk when asked), then prints one markdown report and optionally JSON.
/// </summary>
internal static class LoadRunner
{
    private const string PinnedMarker = "LB_BENCH_PINNED";
    private const string TcMultiplier = "DOTNET_TC_DelaySingleProcMultiplier";

    /// <summary>
    /// The runtime settings of deploy/lb.service's <c>Environment=</c> line, so the bench measures lb as it is deployed
    /// (keep the two in step). Only what has no runtimeconfig form is there: workstation concurrent GC and
    /// TieredPGO are runtimeconfig properties in LoadBalancer.Host.csproj, so every way of starting lb gets them.
    /// </summary>
    internal static readonly IReadOnlyDictionary<string, string> LbUnitEnvironment = new Dictionary<string, string>
    {
        ["DOTNET_GCgen0size"] = "0x100000",
    };

    public static async Task<int> RunAsync(string[] args)
    {
        if (!LoadOptions.TryParse(args, out var options, out var error))
        {
            await Console.Error.WriteLineAsync(error).ConfigureAwait(false);
            await Console.Error.WriteLineAsync(LoadOptions.Usage).ConfigureAwait(false);
            return 2;
        }

        if (options.ScaleReload)
        {
            return await ScaleRun.RunAsync(options, options.Tenants, options.Reloads).ConfigureAwait(false);
        }

        if (options.Pin && Environment.GetEnvironmentVariable(PinnedMarker) != "1")
        {
            return await ReExecPinnedAsync(args).ConfigureAwait(false);
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };

        var report = new LoadReport(options);
        var directory = Directory.CreateTempSubdirectory("lb-bench-").FullName;
        BackendSet? backends = null;
        List<BenchBackend> lean = [];
        try
        {
            if (options.RunGrid)
            {
                backends = await BackendSet.StartAsync(options, directory, report.Notes).ConfigureAwait(false);
                report.Backends = backends.Description;
            }

            if (options.Noisy || options.Reload || options.Dashboard)
            {
                lean = BackendSet.StartLean(options);
            }

            var hosts = Enumerable.Range(0, options.Tenants).Select(PeerConfigs.TenantHost).ToList();
            if (options.Tls is { } tlsKind)
            {
                PeerConfigs.Tls = BenchCertificate.Create(directory, tlsKind);
                report.Notes.Add($"--tls {tlsKind}: the proxies terminate TLS with one self-signed certificate; direct is plaintext. The generator is .NET's SslStream " + (options.TlsResume
                    ? "with its TLS session cache (most newconn handshakes are resumed, on every peer alike; --tls-resume off for full handshakes)"
                    : "with --tls-resume off (AllowTlsResume = false): every newconn handshake is a full one"));
            }
            var h2load = options.H2load ? LbBinary.FindOnPath("h2load") : null;
            if (options.H2load && h2load is null)
            {
                report.Notes.Add("--h2load: h2load is not installed (apt-get install nghttp2-client); skipped");
            }

            PeerConfigs.Http2 = h2load is not null;
            s_h2load = h2load;
            var wrk = options.Wrk ? LbBinary.FindOnPath("wrk") : null;
            if (options.Wrk && wrk is null)
            {
                report.Notes.Add("--wrk: wrk is not installed (apt-get install wrk); skipped");
            }

            report.PrintHeader();
            if (options.RunGrid)
            {
                var targets = Targets(options, directory);
                report.TargetOrder.AddRange(targets.Select(t => t.Name));
                foreach (var target in targets)
                {
                    cancel.Token.ThrowIfCancellationRequested();
                    await RunTargetAsync(target, options, directory, backends!, hosts, wrk, report, cancel.Token).ConfigureAwait(false);
                }
            }

            if (options.Noisy)
            {
                cancel.Token.ThrowIfCancellationRequested();
                report.Noisy = await NoisyNeighbour.RunAsync(options, directory, lean, cancel.Token).ConfigureAwait(false);
            }

            if (options.Reload)
            {
                cancel.Token.ThrowIfCancellationRequested();
                report.Reload = await ReloadUnderLoad.RunAsync(options, directory, lean, hosts, cancel.Token).ConfigureAwait(false);
            }

            if (options.Dashboard)
            {
                cancel.Token.ThrowIfCancellationRequested();
                report.Dashboard = await DashboardUnderLoad.RunAsync(options, directory, lean, hosts, cancel.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            report.Notes.Add("interrupted: partial results");
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or FileNotFoundException)
        {
            await Console.Error.WriteLineAsync($"load: {ex.Message}").ConfigureAwait(false);
            await Console.Error.WriteLineAsync($"(logs and configs kept in {directory})").ConfigureAwait(false);
            return 1;
        }
        finally
        {
            if (backends is not null)
            {
                await backends.DisposeAsync().ConfigureAwait(false);
            }

            foreach (var backend in lean)
            {
                await backend.DisposeAsync().ConfigureAwait(false);
            }
        }

        report.PrintTables();
        if (options.JsonPath is not null)
        {
            await report.WriteJsonAsync(options.JsonPath).ConfigureAwait(false);
            Console.WriteLine($"JSON written to {options.JsonPath}");
        }

        Directory.Delete(directory, recursive: true);
        return 0;
    }


    /// <summary>
    /// One proxy setup to measure. With --accounting the lb peer becomes three targets on the same load: as generated,
    /// with an access log file, and with a never-refusing rate limit plus an access key the generator presents.
    /// </summary>
    /// <param name="Threads">lb's epoll loops / HAProxy's nbthread; null: the default (lb one loop per CPU it may use, HAProxy 1).</param>
    internal sealed record Target(string Name, string Peer, PeerConfigs.LbExtras? Extras = null, string? ExtraHeader = null, int? Threads = null);

    public const string AccountingPlain = "lb";
    public const string AccountingLog = "lb+access_log";
    public const string AccountingLimits = "lb+rate_limit+keys";
    public const string AccountingApi = "lb+route+consumer+quota+ledger";

    private static List<Target> Targets(LoadOptions options, string directory)
    {
        var targets = new List<Target>();
        foreach (var peer in options.Peers)
        {
            if (options.Threads is not [1] && peer is "lb" or "haproxy")
            {
                foreach (var threads in options.Threads)
                {
                    targets.Add(new Target($"{peer}-t{threads}", peer, Threads: threads));
                }

                continue;
            }

            if (peer != "lb" || !options.Accounting)
            {
                targets.Add(new Target(peer, peer));
                continue;
            }

            // The key is random per run; lb stores only the SHA-256 of its raw bytes, as `lb key new` prints.
            var key = "lbk_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
            var sha256 = Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(key)));
            targets.Add(new Target(AccountingPlain, "lb", new PeerConfigs.LbExtras(AdminPort: FreePort())));
            targets.Add(new Target(AccountingLog, "lb", new PeerConfigs.LbExtras(AdminPort: FreePort(), AccessLogPath: Path.Combine(directory, "access.log"))));
            targets.Add(new Target(AccountingLimits, "lb", new PeerConfigs.LbExtras(AdminPort: FreePort(), RateLimit: 1_000_000, AccessKeySha256: sha256), ExtraHeader: $"Authorization: Bearer {key}"));
            targets.Add(new Target(AccountingApi, "lb", new PeerConfigs.LbExtras(AdminPort: FreePort(), RateLimit: 1_000_000, AccessKeySha256: sha256, Api: true, LedgerPath: Path.Combine(directory, "usage.db")), ExtraHeader: $"Authorization: Bearer {key}"));
        }

        return targets;
    }

    // Found once per run (null without --h2load); read by each target's run.
    private static string? s_h2load;

    private static async Task RunTargetAsync(Target target, LoadOptions options, string directory, BackendSet backends, List<string> hosts, string? wrk, LoadReport report, CancellationToken cancellationToken)
    {
        var endPoints = backends.EndPoints.ToList();
        await using var child = await StartPeerAsync(target, options, directory, endPoints, report).ConfigureAwait(false);
        if (child is null && target.Peer != "direct")
        {
            return;
        }

        var endPoint = child is null ? endPoints[0] : child.EndPoint;
        if (options.Idle > 0 && child is not null)
        {
            await MeasureIdleAsync(child, hosts, backends, options, report, cancellationToken).ConfigureAwait(false);
        }

        if (s_h2load is { } h2load && child is not null && target.Peer is "lb" or "haproxy" && target.ExtraHeader is null)
        {
            await backends.SetBodyBytesAsync(options.BodySizes[0]).ConfigureAwait(false);
            var warmup = target.Peer == "lb" ? options.DotnetWarmup ?? options.Warmup : options.Warmup;
            foreach (var (connections, streams) in new[] { (64, 10), (8, 100) })
            {
                var result = await H2loadRunner.RunAsync(h2load, endPoint, hosts[0], connections, streams, options.Seconds, warmup, child.Process.CpuSeconds).ConfigureAwait(false);
                if (result is not null)
                {
                    report.AddH2load(target.Name, result);
                    Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                        $"  {target.Name} h2load {connections}x{streams}: {result.RequestsPerSecond:0} req/s, p50 {result.P50Ms:0.000} ms, p99 {result.P99Ms:0.000} ms, {result.Succeeded} ok, {result.Failed} failed, proxy CPU {result.ProxyCpuSeconds:0.00} s"));
                }
            }
        }

        var admin = target.Extras?.AdminPort is int adminPort ? new IPEndPoint(IPAddress.Loopback, adminPort) : null;
        // A .NET target's first scenario may warm up longer (--dotnet-warmup; the outside check gives 20 s): tier-1
        // code and dynamic PGO arrive during it, and the process stays warm for the scenarios after it.
        var firstWarmup = target.Peer is "lb" or "yarp" ? options.DotnetWarmup ?? options.Warmup : options.Warmup;
        var first = true;
        foreach (var keepAlive in options.KeepAliveModes)
        {
            foreach (var body in options.BodySizes)
            {
                await backends.SetBodyBytesAsync(body).ConfigureAwait(false);

                var before = admin is null ? null : await AdminMetrics.ReadAsync(admin).ConfigureAwait(false);
                var generator = new LoadGenerator(endPoint, hosts, options.Connections, keepAlive, body, target.ExtraHeader)
                {
                    BackendCpuSeconds = backends.CpuSeconds,
                    Tls = child is not null && PeerConfigs.Tls is not null
                        ? new System.Net.Security.SslClientAuthenticationOptions { TargetHost = hosts[0], AllowTlsResume = options.TlsResume, RemoteCertificateValidationCallback = static (_, _, _, _) => true }
                        : null,
                };
                var result = await generator.RunAsync(
                    TimeSpan.FromSeconds(first ? firstWarmup : options.Warmup),
                    TimeSpan.FromSeconds(options.Seconds),
                    child is null ? null : child.Process.CpuSeconds,
                    cancellationToken).ConfigureAwait(false);
                first = false;
                var scenario = new ScenarioResult(target.Name, keepAlive, body, result);
                if (admin is not null && before is not null)
                {
                    var after = await AdminMetrics.ReadAsync(admin).ConfigureAwait(false);
                    var log = target.Extras?.AccessLogPath;
                    scenario.Counters = new AccountingCounters(
                        Requests2xx: AdminMetrics.Sum(after, "lb_requests_total", "code=\"2xx\"") - AdminMetrics.Sum(before, "lb_requests_total", "code=\"2xx\""),
                        RateLimited: AdminMetrics.Sum(after, "lb_rate_limited_total") - AdminMetrics.Sum(before, "lb_rate_limited_total"),
                        KeyRequests: AdminMetrics.Sum(after, "lb_access_key_requests_total") - AdminMetrics.Sum(before, "lb_access_key_requests_total"),
                        LogLines: AdminMetrics.Sum(after, "lb_access_log_lines_total") - AdminMetrics.Sum(before, "lb_access_log_lines_total"),
                        LogDropped: AdminMetrics.Sum(after, "lb_access_log_dropped_total") - AdminMetrics.Sum(before, "lb_access_log_dropped_total"),
                        LogFileBytes: log is not null && File.Exists(log) ? new FileInfo(log).Length : 0);
                }

                if (wrk is not null)
                {
                    scenario.Wrk = target.ExtraHeader is null
                        ? await WrkRunner.RunAsync(wrk, endPoint, hosts[0], keepAlive, options.Connections, options.Seconds, https: child is not null && PeerConfigs.Tls is not null).ConfigureAwait(false)
                        : null;   // wrk would need the key header too; the generator's figures are the comparison
                }

                scenario.LoadAverage = LoadAverage.Read();
                report.Add(scenario);
                report.PrintProgress(scenario);
                if (child is not null && child.Process.HasExited)
                {
                    throw new InvalidOperationException($"{target.Name} exited during the run:\n{child.Process.LogTail()}");
                }
            }
        }
    }

    /// <summary>
    /// Memory per idle connection is measured on a freshly started proxy, before the load scenarios: after them, a
    /// garbage-collected proxy has grown its heap and would place the new connections' objects in pages it already
    /// holds, reporting less than a cold start pays. <see cref="IdleProbe"/> primes it with 200 requests itself.
    /// </summary>
    private static async Task MeasureIdleAsync(RunningPeer child, List<string> hosts, BackendSet backends, LoadOptions options, LoadReport report, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        await backends.SetBodyBytesAsync(0).ConfigureAwait(false);
        var idle = await IdleProbe.MeasureAsync(child.Process, child.EndPoint, hosts[0], options.Idle).ConfigureAwait(false);
        report.AddIdle(child.Process.Name, idle);
        Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"  {child.Process.Name}: RSS {idle.RssBeforeKib} KiB, {idle.Opened} idle keep-alive connections {idle.RssAfterKib} KiB = {idle.KibPerConnection:0.00} KiB each; {idle.OpenedDouble} open {idle.RssDoubleKib} KiB: slope {idle.SlopeKib:0.00} KiB per connection"));
    }

    /// <summary>A started proxy and the address the generator should use.</summary>
    private sealed record RunningPeer(ChildProcess Process, IPEndPoint EndPoint) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Process.DisposeAsync();
    }

    private static async Task<RunningPeer?> StartPeerAsync(Target target, LoadOptions options, string directory, List<IPEndPoint> backends, LoadReport report)
    {
        var peer = target.Peer;
        if (peer == "direct")
        {
            return null;
        }

        var cpu = options.Pin ? ProxyCpus(target.Threads ?? 1) : null;
        var port = FreePort();
        var endPoint = new IPEndPoint(IPAddress.Loopback, port);
        var log = Path.Combine(directory, target.Name + ".log");
        ChildProcess process;
        switch (peer)
        {
            case "lb":
            {
                var lb = await LbBinary.LocateAsync(options.LbPath).ConfigureAwait(false);
                report.LbPath = lb;
                var config = Path.Combine(directory, target.Name + ".toml");
                await File.WriteAllTextAsync(config, PeerConfigs.Lb(port, options.Tenants, backends, target.Extras)).ConfigureAwait(false);
                process = StartLb(lb, config, cpu, options, log, loops: target.Threads);
                report.LbSettings = LbRuntimeSettings.Describe(lb, process.Pid);
                if (target.Threads is int loops)
                {
                    // The loop count is the target's own (lb-tN); the rest is the same for every lb target.
                    report.LbSettings = report.LbSettings.Replace($"DOTNET_PROCESSOR_COUNT={loops}", "DOTNET_PROCESSOR_COUNT=N of lb-tN", StringComparison.Ordinal);
                }
                Console.WriteLine($"lb runtime settings: {report.LbSettings}");
                break;
            }

            case "haproxy":
            {
                var haproxy = LbBinary.FindOnPath("haproxy");
                if (haproxy is null)
                {
                    report.Notes.Add("haproxy: not installed (apt-get install haproxy); skipped");
                    return null;
                }

                var map = Path.Combine(directory, "hosts.map");
                await File.WriteAllTextAsync(map, PeerConfigs.HaProxyMap(options.Tenants)).ConfigureAwait(false);
                var config = Path.Combine(directory, "haproxy.cfg");
                await File.WriteAllTextAsync(config, PeerConfigs.HaProxy(port, map, backends, target.Threads ?? 1)).ConfigureAwait(false);
                process = ChildProcess.Start("haproxy", haproxy, ["-db", "-f", config], cpu, new Dictionary<string, string>(), log);
                break;
            }

            case "nginx":
            {
                var nginx = LbBinary.FindOnPath("nginx");
                if (nginx is null)
                {
                    report.Notes.Add("nginx: not installed (apt-get install nginx); skipped");
                    return null;
                }

                var config = Path.Combine(directory, "nginx.conf");
                await File.WriteAllTextAsync(config, PeerConfigs.Nginx(port, directory, options.Tenants, backends)).ConfigureAwait(false);
                process = ChildProcess.Start("nginx", nginx, ["-p", directory, "-e", Path.Combine(directory, "nginx-error.log"), "-c", config], cpu, new Dictionary<string, string>(), log);
                break;
            }

            case "yarp":
            {
                // The bench's own executable, started again as the YARP peer (its own process, pinned like the others).
                var self = Environment.ProcessPath ?? throw new InvalidOperationException("cannot locate the bench executable");
                var peerArgs = new List<string>();
                if (Path.GetFileNameWithoutExtension(self) == "dotnet")
                {
                    peerArgs.Add(typeof(LoadRunner).Assembly.Location);
                }

                peerArgs.AddRange(["yarp-peer", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--tenants",
                    options.Tenants.ToString(System.Globalization.CultureInfo.InvariantCulture), "--backends", string.Join(",", backends)]);
                var environment = new Dictionary<string, string> { ["DOTNET_TC_DelaySingleProcMultiplier"] = "1", ["DOTNET_gcServer"] = "0" };
                process = ChildProcess.Start("yarp", self, [.. peerArgs], cpu, environment, log);
                break;
            }

            default:
                throw new InvalidOperationException($"unknown peer {peer}");
        }

        try
        {
            await process.WaitReadyAsync(endPoint, PeerConfigs.TenantHost(0), TimeSpan.FromSeconds(60), target.ExtraHeader, tls: PeerConfigs.Tls is not null).ConfigureAwait(false);
            if (peer == "nginx")
            {
                process.UseWorkerChild(TimeSpan.FromSeconds(5));
            }
        }
        catch
        {
            await process.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        Console.WriteLine($"{target.Name}: pid {process.WorkerPid} listening on {endPoint}{(cpu is null ? "" : $", pinned to CPU {cpu}")}");
        return new RunningPeer(process, endPoint);
    }

    /// <summary>
    /// --pin: the CPUs of a proxy with <paramref name="threads"/> threads, as taskset takes them: CPU 1 for one (the
    /// generator and backends run on CPU 0), else the machine's last N CPUs (on a 2-CPU machine both, shared).
    /// </summary>
    internal static string ProxyCpus(int threads)
    {
        var cpus = MachineCpu.Count;
        return threads <= 1 || cpus <= 1 ? "1" : $"{Math.Max(0, cpus - threads)}-{cpus - 1}";
    }

    /// <summary>Starts lb (pinned to <paramref name="cpu"/> when set) on <paramref name="config"/>, with the tier-up setting unless turned off.</summary>
    /// <param name="watch">False: <c>--no-watch</c>, so only SIGHUP and POST /reload reload (one reload per request, no file-watcher race).</param>
    /// <param name="loops">lb's epoll loops (DOTNET_PROCESSOR_COUNT, which lb reads as the CPUs it may use); null: lb's default.</param>
    internal static ChildProcess StartLb(string lb, string config, string? cpu, LoadOptions options, string log, bool watch = true, int? loops = null)
    {
        var environment = new Dictionary<string, string>();
        foreach (var (key, value) in LbUnitEnvironment)
        {
            // The bench's own environment wins, for runs that compare a setting against the unit file's.
            environment[key] = options.UnitEnvironment ? Environment.GetEnvironmentVariable(key) ?? value : "";
        }

        // Empty removes the variable: the pinned bench has it in its own environment, which the child would inherit.
        environment[TcMultiplier] = options.TcMultiplier ? "1" : "";
        if (loops is int count)
        {
            environment["DOTNET_PROCESSOR_COUNT"] = count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        string[] arguments = watch ? ["--config", config] : ["--config", config, "--no-watch"];
        return ChildProcess.Start("lb", lb, arguments, cpu, environment, log);
    }

    /// <summary>Binds port 0 and releases it: the child process gets a port the OS just said was free.</summary>
    internal static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>
    /// --pin: run the whole bench (generator and backends) again under <c>taskset -c 0</c>. Re-executing, rather than
    /// setting the affinity of a running process, also makes the runtime see one CPU from the start (one socket
    /// engine thread, workstation GC heaps sized for one core), like any process started pinned.
    /// </summary>
    private static async Task<int> ReExecPinnedAsync(string[] args)
    {
        if (LbBinary.FindOnPath("taskset") is not string taskset)
        {
            await Console.Error.WriteLineAsync("--pin needs taskset (util-linux)").ConfigureAwait(false);
            return 2;
        }

        if (Environment.ProcessorCount < 2)
        {
            await Console.Error.WriteLineAsync("--pin needs 2 CPUs (generator on CPU 0, proxy on CPU 1)").ConfigureAwait(false);
            return 2;
        }

        var info = new ProcessStartInfo(taskset) { UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("0");
        var self = Environment.ProcessPath!;
        info.ArgumentList.Add(self);
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            // Started as "dotnet LoadBalancer.Bench.dll": pass the assembly again.
            info.ArgumentList.Add(typeof(LoadRunner).Assembly.Location);
        }

        info.ArgumentList.Add("load");
        foreach (var argument in args)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment[PinnedMarker] = "1";
        info.Environment.TryAdd(TcMultiplier, "1");
        using var child = Process.Start(info) ?? throw new InvalidOperationException("cannot start taskset");

        // Ctrl+C reaches the child too (same process group); wait for it to clean up its own children.
        Console.CancelKeyPress += (_, e) => e.Cancel = true;
        await child.WaitForExitAsync().ConfigureAwait(false);
        return child.ExitCode;
    }

    internal static bool IsPinnedChild => Environment.GetEnvironmentVariable(PinnedMarker) == "1";
}
