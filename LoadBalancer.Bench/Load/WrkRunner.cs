using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace LoadBalancer.Bench.Load;

/// <summary>Runs <c>wrk -t1 -cN -dSs --latency</c> against a target and parses its figures.</summary>
internal static partial class WrkRunner
{
    public sealed record WrkResult(double RequestsPerSecond, double MegabytesPerSecond, double P50Ms, double P99Ms, long Errors, string Raw);

    public static async Task<WrkResult?> RunAsync(string wrk, IPEndPoint target, string host, bool keepAlive, int connections, double seconds, bool https = false)
    {
        var info = new ProcessStartInfo(wrk)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { "-t1", $"-c{connections}", $"-d{Math.Max(1, (int)Math.Round(seconds))}s", "--latency", "-H", $"Host: {host}" })
        {
            info.ArgumentList.Add(argument);
        }

        if (!keepAlive)
        {
            info.ArgumentList.Add("-H");
            info.ArgumentList.Add("Connection: close");
        }

        info.ArgumentList.Add($"{(https ? "https" : "http")}://{target}/");
        using var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start wrk");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().ConfigureAwait(false);
        var text = await stdout.ConfigureAwait(false) + await stderr.ConfigureAwait(false);
        var rps = RequestsPerSecond().Match(text);
        var transfer = Transfer().Match(text);
        if (process.ExitCode != 0 || !rps.Success)
        {
            Console.WriteLine($"wrk failed (exit code {process.ExitCode}): {text.Trim()}");
            return null;
        }

        long errors = 0;
        foreach (Match match in ErrorCounts().Matches(text))
        {
            errors += long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        }

        var non2xx = Non2xx().Match(text);
        if (non2xx.Success)
        {
            errors += long.Parse(non2xx.Groups[1].Value, CultureInfo.InvariantCulture);
        }

        return new WrkResult(
            double.Parse(rps.Groups[1].Value, CultureInfo.InvariantCulture),
            transfer.Success ? ToMegabytes(transfer.Groups[1].Value, transfer.Groups[2].Value) : 0,
            Percentile(text, "50%"),
            Percentile(text, "99%"),
            errors,
            text);
    }

    private static double Percentile(string text, string label)
    {
        var match = Regex.Match(text, @"^\s*" + Regex.Escape(label) + @"\s+([\d.]+)(us|ms|s|m)\s*$", RegexOptions.Multiline);
        if (!match.Success)
        {
            return double.NaN;
        }

        var value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        return match.Groups[2].Value switch
        {
            "us" => value / 1000,
            "ms" => value,
            "s" => value * 1000,
            _ => value * 60_000,
        };
    }

    private static double ToMegabytes(string value, string unit)
    {
        var number = double.Parse(value, CultureInfo.InvariantCulture);
        return unit switch
        {
            "B" => number / (1024 * 1024),
            "KB" => number / 1024,
            "MB" => number,
            "GB" => number * 1024,
            _ => double.NaN,
        };
    }

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex RequestsPerSecond();

    [GeneratedRegex(@"Transfer/sec:\s+([\d.]+)(B|KB|MB|GB)")]
    private static partial Regex Transfer();

    [GeneratedRegex(@"(?:connect|read|write|timeout) (\d+)")]
    private static partial Regex ErrorCounts();

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+(\d+)")]
    private static partial Regex Non2xx();
}
