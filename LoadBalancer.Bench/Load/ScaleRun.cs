using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace LoadBalancer.Bench.Load;

/// <summary>
/// Issue 20's figures with a many-tenant lb.toml (<see cref="ScaleConfig"/>): <c>load --reload --tenants N</c> with
/// N &gt;= <see cref="MinTenants"/>, or <c>scale [--tenants N] [--reloads N]</c>. In one run, on this machine:
/// <list type="bullet">
/// <item><c>lb check</c> and <c>haproxy -c</c> under <c>/usr/bin/time -v</c>: wall time (best of 3), the CPU time of
/// that best run, peak RSS;</item>
/// <item>HAProxy started on its equivalent config: RSS once it routes;</item>
/// <item>lb started: time to the first 200, RSS at ready and once settled;</item>
/// <item>one keep-alive client on tenant 0: a steady window, then a window in which the bench changes the last
/// tenant's rate_limit and POSTs /reload once a second (<see cref="ReloadDriver"/>): each reload's round trip
/// (trigger to live: lb answers after the swap), the client's p99.9 and worst latency, RSS after 6 and after all
/// reloads;</item>
/// <item>routing and the limit checked after the reloads: the last tenant answers 200 through its own pool, is
/// refused with 429 under the changed limit, and is not once the limit is back;</item>
/// <item>with dotnet-gcdump installed, a heap dump of lb after the reloads: how many TenantSnapshot / PoolSnapshot
/// objects are alive (one snapshot's worth means every replaced snapshot was collected).</item>
/// </list>
/// Every figure line carries the load average: the machine is shared, and the wall times are only as good as it.
/// </summary>
internal static class ScaleRun
{
    /// <summary>From this many tenants on, <c>load --reload</c> runs this instead of the throughput-under-reload run.</summary>
    public const int MinTenants = 1000;

    private const int ChangedRateLimit = 7;

    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        var tenants = 10_000;
        var reloads = 20;
        var profile = false;
        var reloadsOnly = false;
        var rest = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--tenants": tenants = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--reloads": reloads = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--profile": profile = true; break;
                case "--profile-reloads": profile = reloadsOnly = true; break;
                default: rest.Add(args[i]); break;
            }
        }

        if (profile)
        {
            ScaleProfile.Run(tenants, rounds: 3, reloadsOnly);
            return 0;
        }

        if (!LoadOptions.TryParse(rest, out var options, out var error))
        {
            Console.Error.WriteLine(error);
            return 2;
        }

        return await RunAsync(options, tenants, reloads).ConfigureAwait(false);
    }

    public static async Task<int> RunAsync(LoadOptions options, int tenants, int reloads)
    {
        var directory = Directory.CreateTempSubdirectory("lb-scale-").FullName;
        Console.WriteLine($"scale: {tenants} tenants, {reloads} reloads, in {directory}; {Load()}");
        await using var a = BenchBackend.Start(0);
        await using var b = BenchBackend.Start(0);
        IPEndPoint[] pool = [a.EndPoint, b.EndPoint];
        var port = LoadRunner.FreePort();
        var adminPort = LoadRunner.FreePort();
        var config = Path.Combine(directory, "lb.toml");
        string Config(int flip) => ScaleConfig.Lb(tenants, port, adminPort, pool, changedRateLimit: flip == 2 ? ChangedRateLimit : 0);
        await File.WriteAllTextAsync(config, Config(1)).ConfigureAwait(false);
        Console.WriteLine($"lb.toml: {new FileInfo(config).Length / 1e6:0.00} MB");

        var lb = await LbBinary.LocateAsync(options.LbPath).ConfigureAwait(false);
        Console.WriteLine($"lb check:     {await TimedAsync(lb, ["check", "--config", config]).ConfigureAwait(false)}");
        await HaProxyAsync(tenants, directory, pool).ConfigureAwait(false);

        var endPoint = new IPEndPoint(IPAddress.Loopback, port);
        var admin = new IPEndPoint(IPAddress.Loopback, adminPort);
        var host = PeerConfigs.TenantHost(0);
        var started = Stopwatch.GetTimestamp();
        await using var process = LoadRunner.StartLb(lb, config, cpu: null, options, Path.Combine(directory, "lb.log"), watch: false);
        await process.WaitReadyAsync(endPoint, host, TimeSpan.FromSeconds(300)).ConfigureAwait(false);
        var readyMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var readyRss = process.RssKib();
        await Task.Delay(TimeSpan.FromSeconds(3)).ConfigureAwait(false);
        var steadyRss = process.RssKib();
        Console.WriteLine($"lb started:   ready in {readyMs:0} ms, RSS {readyRss / 1024.0:0} MB at ready, {steadyRss / 1024.0:0} MB 3 s later (steady); {Load()}");

        var rss = new Dictionary<int, long>();
        var driver = new ReloadDriver(config, Config, admin) { AfterApplied = applied => rss[applied] = process.RssKib() };
        var generator = new LoadGenerator(endPoint, [host], connections: 1, keepAlive: true, bodyBytes: 0);
        var windows = await generator.RunWindowsAsync(
            TimeSpan.FromSeconds(2),
            [TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(reloads + 0.2)],
            process.CpuSeconds,
            (index, windowEnd) => index == 1 ? driver.RunAsync(windowEnd) : Task.CompletedTask,
            CancellationToken.None).ConfigureAwait(false);
        foreach (var (name, w) in new[] { ("steady", windows[0]), ("reloading", windows[1]) })
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"client {name,-9}: {w.RequestsPerSecond:0} req/s, p50 {w.P50Ms:0.000} p99 {w.P99Ms:0.000} p99.9 {w.P999Ms:0.000} max {w.Histogram.MaxNanoseconds / 1e6:0.000} ms, errors {w.Errors}"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"reloads:      {driver.Applied}/{driver.Attempted} applied, POST /reload (trigger to live) mean {driver.MeanMilliseconds:0} ms, max {driver.MaxMilliseconds:0} ms; {Load()}"));
        Console.WriteLine($"  first answer: {driver.FirstSummary}");
        foreach (var failure in driver.Failures)
        {
            Console.WriteLine($"  not applied: {failure}");
        }

        foreach (var at in new[] { 6, driver.Applied })
        {
            if (rss.TryGetValue(at, out var kib))
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RSS after {at,2} reloads: {kib / 1024.0:0} MB ({(double)kib / steadyRss:0.00}x steady)"));
            }
        }

        await Task.Delay(TimeSpan.FromSeconds(3)).ConfigureAwait(false);
        var afterRss = process.RssKib();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RSS 3 s after the last reload: {afterRss / 1024.0:0} MB ({(double)afterRss / steadyRss:0.00}x steady)"));

        await CheckRoutingAsync(driver, endPoint, PeerConfigs.TenantHost(tenants - 1)).ConfigureAwait(false);
        await HeapDumpAsync(process.WorkerPid, directory).ConfigureAwait(false);
        var metrics = await AdminMetrics.ReadAsync(admin, TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        Console.WriteLine($"lb_requests_total (all tenants): {AdminMetrics.Sum(metrics, "lb_requests_total"):0}; {Load()}");
        return 0;
    }

    private static string Load() => "load " + string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

    /// <summary>
    /// The last tenant routes through its own pool to the bench's backends: 200 under its generated limit; with the
    /// changed limit (7/s, burst 14) 30 quick requests meet 429s; with the limit put back, none.
    /// </summary>
    private static async Task CheckRoutingAsync(ReloadDriver driver, IPEndPoint endPoint, string host)
    {
        foreach (var state in new[] { 2, 1 })
        {
            if (driver.AppliedState != state && !await driver.ReloadToAsync(state).ConfigureAwait(false))
            {
                Console.WriteLine($"routing check: the reload to state {state} was not applied");
                return;
            }

            var codes = new Dictionary<int, int>();
            for (var i = 0; i < 30; i++)
            {
                var status = (await AdminClient.SendAsync(endPoint, "GET", "/", host).ConfigureAwait(false)).Status;
                codes[status] = codes.GetValueOrDefault(status) + 1;
            }

            var expected = state == 2 ? codes.GetValueOrDefault(200) > 0 && codes.GetValueOrDefault(429) > 0 : codes.GetValueOrDefault(200) == 30;
            Console.WriteLine($"routing check, {host} with {(state == 2 ? $"rate_limit {ChangedRateLimit}/s burst {ChangedRateLimit * 2}" : "its generated rate_limit")}: "
                + string.Join(", ", codes.OrderBy(c => c.Key).Select(c => $"{c.Value}x {c.Key}")) + (expected ? " (as expected)" : " (NOT as expected)"));
        }
    }

    /// <summary>Live snapshot objects after the reloads, from a heap dump (dotnet-gcdump collects a full GC first).</summary>
    private static async Task HeapDumpAsync(int pid, string directory)
    {
        var tool = LbBinary.FindOnPath("dotnet-gcdump") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dotnet", "tools", "dotnet-gcdump");
        if (!File.Exists(tool))
        {
            Console.WriteLine("heap dump: dotnet-gcdump not installed (dotnet tool install -g dotnet-gcdump)");
            return;
        }

        var dump = Path.Combine(directory, "lb.gcdump");
        var (collected, _) = await RunToolAsync(tool, ["collect", "-p", pid.ToString(CultureInfo.InvariantCulture), "-o", dump]).ConfigureAwait(false);
        if (collected != 0 || !File.Exists(dump))
        {
            Console.WriteLine($"heap dump: dotnet-gcdump collect failed (exit code {collected})");
            return;
        }

        var (_, report) = await RunToolAsync(tool, ["report", dump]).ConfigureAwait(false);
        string Count(string type)
        {
            foreach (var line in report.Split('\n'))
            {
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length >= 3 && parts[2] == type)
                {
                    return parts[1];
                }
            }

            return "0";
        }

        var heap = report.Split('\n').FirstOrDefault(l => l.Contains("GC Heap bytes", StringComparison.Ordinal))?.Trim().Split(' ')[0] ?? "?";
        Console.WriteLine($"heap dump after the reloads: {heap} bytes of live GC heap; TenantSnapshot {Count("LoadBalancer.Core.Routing.TenantSnapshot")}, "
            + $"PoolSnapshot {Count("LoadBalancer.Core.Routing.PoolSnapshot")}, RuntimeSnapshot {Count("LoadBalancer.Core.Routing.RuntimeSnapshot")} alive");
    }

    private static async Task<(int Exit, string Output)> RunToolAsync(string program, string[] arguments)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var child = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {program}");
        var stderr = child.StandardError.ReadToEndAsync();
        var output = await child.StandardOutput.ReadToEndAsync().ConfigureAwait(false);
        await child.WaitForExitAsync().ConfigureAwait(false);
        await stderr.ConfigureAwait(false);
        return (child.ExitCode, output);
    }

    /// <summary><c>haproxy -c</c> on the equivalent config, then HAProxy started on it: RSS once it routes tenant 0.</summary>
    private static async Task HaProxyAsync(int tenants, string directory, IPEndPoint[] pool)
    {
        if (LbBinary.FindOnPath("haproxy") is not { } haproxy)
        {
            Console.WriteLine("haproxy:      not installed (apt-get install haproxy)");
            return;
        }

        var map = Path.Combine(directory, "hosts.map");
        var cfg = Path.Combine(directory, "haproxy.cfg");
        var port = LoadRunner.FreePort();
        await File.WriteAllTextAsync(map, ScaleConfig.HaProxyMap(tenants)).ConfigureAwait(false);
        await File.WriteAllTextAsync(cfg, ScaleConfig.HaProxy(tenants, port, map, pool)).ConfigureAwait(false);
        Console.WriteLine($"haproxy -c:   {await TimedAsync(haproxy, ["-c", "-f", cfg]).ConfigureAwait(false)}");
        var started = Stopwatch.GetTimestamp();
        await using var process = ChildProcess.Start("haproxy", haproxy, ["-db", "-f", cfg], null, new Dictionary<string, string>(), Path.Combine(directory, "haproxy.log"));
        await process.WaitReadyAsync(new IPEndPoint(IPAddress.Loopback, port), PeerConfigs.TenantHost(0), TimeSpan.FromSeconds(120)).ConfigureAwait(false);
        var readyMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        await Task.Delay(TimeSpan.FromSeconds(3)).ConfigureAwait(false);
        Console.WriteLine($"haproxy:      ready in {readyMs:0} ms, RSS {process.RssKib() / 1024.0:0} MB 3 s later; {Load()}");
    }

    /// <summary>Best of three runs under <c>/usr/bin/time -v</c>: wall seconds, that run's CPU seconds, peak RSS, exit code.</summary>
    private static async Task<string> TimedAsync(string program, string[] arguments)
    {
        var best = double.MaxValue;
        var bestCpu = 0.0;
        long peak = 0;
        var exit = 0;
        var walls = new List<double>();
        for (var run = 0; run < 3; run++)
        {
            var info = new ProcessStartInfo("/usr/bin/time") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            info.ArgumentList.Add("-v");
            info.ArgumentList.Add(program);
            foreach (var argument in arguments)
            {
                info.ArgumentList.Add(argument);
            }

            using var child = Process.Start(info) ?? throw new InvalidOperationException("cannot start /usr/bin/time");
            var stdout = child.StandardOutput.ReadToEndAsync();
            var stderr = await child.StandardError.ReadToEndAsync().ConfigureAwait(false);
            await child.WaitForExitAsync().ConfigureAwait(false);
            await stdout.ConfigureAwait(false);
            exit = child.ExitCode;
            double wall = 0, cpu = 0;
            foreach (var line in stderr.Split('\n'))
            {
                var text = line.Trim();
                var last = text[(text.LastIndexOf(' ') + 1)..];
                if (text.StartsWith("Elapsed (wall clock) time", StringComparison.Ordinal))
                {
                    var clock = last.Split(':');
                    wall = double.Parse(clock[^1], CultureInfo.InvariantCulture) + 60 * double.Parse(clock[^2], CultureInfo.InvariantCulture);
                }
                else if (text.StartsWith("User time", StringComparison.Ordinal) || text.StartsWith("System time", StringComparison.Ordinal))
                {
                    cpu += double.Parse(last, CultureInfo.InvariantCulture);
                }
                else if (text.StartsWith("Maximum resident set size", StringComparison.Ordinal))
                {
                    peak = Math.Max(peak, long.Parse(last, CultureInfo.InvariantCulture));
                }
            }

            walls.Add(wall);
            if (wall < best)
            {
                best = wall;
                bestCpu = cpu;
            }
        }

        return string.Create(CultureInfo.InvariantCulture,
            $"{best:0.00} s wall (best of 3: {string.Join(" / ", walls.Select(w => w.ToString("0.00", CultureInfo.InvariantCulture)))}), {bestCpu:0.00} s CPU, peak RSS {peak / 1024.0:0} MB, exit code {exit}; {Load()}");
    }
}
