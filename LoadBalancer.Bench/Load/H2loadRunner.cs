using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace LoadBalancer.Bench.Load;

/// <summary>
/// Runs nghttp2's <c>h2load</c> (HTTP/2 with prior knowledge, one thread) against a target for a fixed time and reads
/// its rate and outcome counts; the latency percentiles come from its per-request log, since h2load prints none.
/// </summary>
internal static partial class H2loadRunner
{
    public sealed record H2loadResult(int Connections, int Streams, double RequestsPerSecond, double P50Ms, double P99Ms, long Succeeded, long Failed, double ProxyCpuSeconds);

    public static async Task<H2loadResult?> RunAsync(string h2load, IPEndPoint target, string host, int connections, int streams, double seconds, double warmup, Func<double>? proxyCpuSeconds)
    {
        var log = Path.Combine(Path.GetTempPath(), $"lb-bench-h2load-{Guid.NewGuid():N}.log");
        var info = new ProcessStartInfo(h2load) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[]
        {
            "-t1", $"-c{connections}", $"-m{streams}",
            "-D", $"{Math.Max(1, (int)Math.Round(seconds))}", "--warm-up-time", $"{Math.Max(0, (int)Math.Round(warmup))}",
            "-H", $":authority: {host}", "--log-file", log, $"http://{target}/",
        })
        {
            info.ArgumentList.Add(argument);
        }

        try
        {
            using var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start h2load");
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            // CPU is read across the whole run; the warm-up share is taken off in proportion to the time.
            var cpuBefore = proxyCpuSeconds?.Invoke() ?? 0;
            await process.WaitForExitAsync().ConfigureAwait(false);
            var cpu = (proxyCpuSeconds?.Invoke() ?? 0) - cpuBefore;
            var text = await stdout.ConfigureAwait(false) + await stderr.ConfigureAwait(false);
            var finished = Finished().Match(text);
            var requests = Requests().Match(text);
            if (process.ExitCode != 0 || !finished.Success || !requests.Success)
            {
                Console.WriteLine($"h2load failed (exit code {process.ExitCode}): {text.Trim()}");
                return null;
            }

            var latencies = ReadLatenciesMs(log);
            var measuredShare = seconds / Math.Max(seconds, seconds + warmup);
            return new H2loadResult(
                connections,
                streams,
                double.Parse(finished.Groups[1].Value, CultureInfo.InvariantCulture),
                Percentile(latencies, 0.50),
                Percentile(latencies, 0.99),
                long.Parse(requests.Groups[1].Value, CultureInfo.InvariantCulture),
                long.Parse(requests.Groups[2].Value, CultureInfo.InvariantCulture) + long.Parse(requests.Groups[3].Value, CultureInfo.InvariantCulture),
                cpu * measuredShare);
        }
        finally
        {
            File.Delete(log);
        }
    }

    /// <summary>The log's lines are "start time (us), status, duration (us)", one per request of the measured period.</summary>
    private static double[] ReadLatenciesMs(string log)
    {
        if (!File.Exists(log))
        {
            return [];
        }

        var values = new List<double>();
        foreach (var line in File.ReadLines(log))
        {
            var fields = line.Split('\t');
            if (fields.Length >= 3 && double.TryParse(fields[2], NumberStyles.Float, CultureInfo.InvariantCulture, out var micros))
            {
                values.Add(micros / 1000);
            }
        }

        var sorted = values.ToArray();
        Array.Sort(sorted);
        return sorted;
    }

    private static double Percentile(double[] sorted, double p)
        => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    [GeneratedRegex(@"finished in [\d.]+\w+, ([\d.]+) req/s")]
    private static partial Regex Finished();

    [GeneratedRegex(@"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored")]
    private static partial Regex Requests();
}
