using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace LoadBalancer.Bench.Load;

/// <summary>
/// <c>scale [--tenants N] [--reloads N] [--lb PATH]</c> (issue 20): the figures an operator sees with a many-tenant
/// lb.toml (<see cref="ScaleConfig"/>). <c>lb check</c> and <c>haproxy -c</c> under <c>/usr/bin/time -v</c> (wall
/// time, peak RSS; best of 3); lb started: time to the first 200 and RSS; then one keep-alive client on tenant 0 for
/// a steady window and a window in which the bench changes the last tenant's rate_limit and POSTs /reload once a
/// second (<see cref="ReloadDriver"/>): each reload's round trip (trigger to live: lb answers after the swap), the
/// client's worst latency, and RSS after all of them.
/// </summary>
internal static class ScaleRun
{
    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        var tenants = 10_000;
        var reloads = 20;
        var profile = false;
        var rest = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--tenants": tenants = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--reloads": reloads = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--profile": profile = true; break;
                default: rest.Add(args[i]); break;
            }
        }

        if (profile)
        {
            ScaleProfile.Run(tenants, rounds: 3);
            return 0;
        }

        if (!LoadOptions.TryParse(rest, out var options, out var error))
        {
            Console.Error.WriteLine(error);
            return 2;
        }

        var directory = Directory.CreateTempSubdirectory("lb-scale-").FullName;
        Console.WriteLine($"scale: {tenants} tenants, {reloads} reloads, in {directory}; load: {File.ReadAllText("/proc/loadavg").Trim()}");
        await using var a = BenchBackend.Start(0);
        await using var b = BenchBackend.Start(0);
        IPEndPoint[] pool = [a.EndPoint, b.EndPoint];
        var port = LoadRunner.FreePort();
        var adminPort = LoadRunner.FreePort();
        var config = Path.Combine(directory, "lb.toml");
        string Config(int flip) => ScaleConfig.Lb(tenants, port, adminPort, pool, changedRateLimit: flip == 2 ? 7 : 0);
        await File.WriteAllTextAsync(config, Config(1)).ConfigureAwait(false);
        Console.WriteLine($"lb.toml: {new FileInfo(config).Length / 1e6:0.00} MB");

        var lb = await LbBinary.LocateAsync(options.LbPath).ConfigureAwait(false);
        var check = await TimedAsync(lb, ["check", "--config", config]).ConfigureAwait(false);
        Console.WriteLine($"lb check:     {check}");

        if (LbBinary.FindOnPath("haproxy") is { } haproxy)
        {
            var map = Path.Combine(directory, "hosts.map");
            var cfg = Path.Combine(directory, "haproxy.cfg");
            await File.WriteAllTextAsync(map, ScaleConfig.HaProxyMap(tenants)).ConfigureAwait(false);
            await File.WriteAllTextAsync(cfg, ScaleConfig.HaProxy(tenants, LoadRunner.FreePort(), map, pool)).ConfigureAwait(false);
            Console.WriteLine($"haproxy -c:   {await TimedAsync(haproxy, ["-c", "-f", cfg]).ConfigureAwait(false)}");
        }
        else
        {
            Console.WriteLine("haproxy -c:   not installed (apt-get install haproxy)");
        }

        var endPoint = new IPEndPoint(IPAddress.Loopback, port);
        var admin = new IPEndPoint(IPAddress.Loopback, adminPort);
        var host = PeerConfigs.TenantHost(0);
        var started = Stopwatch.GetTimestamp();
        await using var process = LoadRunner.StartLb(lb, config, cpu: null, options, Path.Combine(directory, "lb.log"), watch: false);
        await process.WaitReadyAsync(endPoint, host, TimeSpan.FromSeconds(120)).ConfigureAwait(false);
        var readyMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var readyRss = process.RssKib();
        await Task.Delay(TimeSpan.FromSeconds(3)).ConfigureAwait(false);
        var steadyRss = process.RssKib();
        Console.WriteLine($"started:      ready in {readyMs:0} ms, RSS {readyRss / 1024.0:0} MB at ready, {steadyRss / 1024.0:0} MB 3 s later");

        var driver = new ReloadDriver(config, Config, admin);
        var generator = new LoadGenerator(endPoint, [host], connections: 1, keepAlive: true, bodyBytes: 0);
        var windows = await generator.RunWindowsAsync(
            TimeSpan.FromSeconds(2),
            [TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(reloads + 0.2)],
            process.CpuSeconds,
            (index, windowEnd) => index == 1 ? driver.RunAsync(windowEnd) : Task.CompletedTask,
            CancellationToken.None).ConfigureAwait(false);
        await Task.Delay(TimeSpan.FromSeconds(3)).ConfigureAwait(false);
        var afterRss = process.RssKib();
        foreach (var (name, w) in new[] { ("steady", windows[0]), ("reloading", windows[1]) })
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"client {name,-9}: {w.RequestsPerSecond:0} req/s, p50 {w.P50Ms:0.000} p99 {w.P99Ms:0.000} p99.9 {w.P999Ms:0.000} max {w.Histogram.MaxNanoseconds / 1e6:0.000} ms, errors {w.Errors}"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"reloads:      {driver.Applied}/{driver.Attempted} applied, POST /reload mean {driver.MeanMilliseconds:0} ms, max {driver.MaxMilliseconds:0} ms; first answer: {driver.FirstSummary}"));
        foreach (var failure in driver.Failures)
        {
            Console.WriteLine($"  not applied: {failure}");
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RSS after {driver.Applied} reloads: {afterRss / 1024.0:0} MB ({(double)afterRss / steadyRss:0.00}x steady)"));
        var metrics = await AdminMetrics.ReadAsync(admin).ConfigureAwait(false);
        Console.WriteLine($"lb_requests_total (all tenants): {AdminMetrics.Sum(metrics, "lb_requests_total"):0}; load: {File.ReadAllText("/proc/loadavg").Trim()}");
        return 0;
    }

    /// <summary>Best of three runs under <c>/usr/bin/time -v</c>: wall seconds and peak RSS, with the exit code.</summary>
    private static async Task<string> TimedAsync(string program, string[] arguments)
    {
        var best = double.MaxValue;
        long peak = 0;
        var exit = 0;
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
            foreach (var line in stderr.Split('\n'))
            {
                var text = line.Trim();
                if (text.StartsWith("Elapsed (wall clock) time", StringComparison.Ordinal))
                {
                    var clock = text[(text.LastIndexOf(' ') + 1)..].Split(':');
                    var seconds = double.Parse(clock[^1], CultureInfo.InvariantCulture) + 60 * double.Parse(clock[^2], CultureInfo.InvariantCulture);
                    if (seconds < best)
                    {
                        best = seconds;
                    }
                }
                else if (text.StartsWith("Maximum resident set size", StringComparison.Ordinal))
                {
                    peak = Math.Max(peak, long.Parse(text[(text.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
                }
            }
        }

        return string.Create(CultureInfo.InvariantCulture, $"{best:0.00} s (best of 3), peak RSS {peak / 1024.0:0} MB, exit code {exit}");
    }
}
