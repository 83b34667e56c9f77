using System.Globalization;
using System.Net;

namespace LoadBalancer.Bench.Load;

/// <summary>
/// Reads lb's <c>GET /metrics</c> from its admin listener (one request, <c>Connection: close</c>) into a map from
/// <c>name{labels}</c> (as printed) to value, so scenarios can report lb's own counts next to what the generator saw.
/// </summary>
internal static class AdminMetrics
{
    /// <param name="timeout"><see cref="AdminClient.DefaultTimeout"/> when null (the scale run's 100,000 tenants need more).</param>
    public static async Task<Dictionary<string, double>> ReadAsync(IPEndPoint admin, TimeSpan? timeout = null)
    {
        var body = (await AdminClient.SendAsync(admin, "GET", "/metrics", timeout).ConfigureAwait(false)).Body;
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in body.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var space = line.LastIndexOf(' ');
            if (space > 0 && double.TryParse(line[(space + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                values[line[..space]] = value;
            }
        }

        return values;
    }

    /// <summary>The sum of every series of <paramref name="family"/> whose labels contain all of <paramref name="labels"/> (e.g. <c>tenant="a"</c>).</summary>
    public static double Sum(Dictionary<string, double> values, string family, params string[] labels)
    {
        var sum = 0.0;
        foreach (var (series, value) in values)
        {
            if ((series == family || series.StartsWith(family + "{", StringComparison.Ordinal))
                && labels.All(l => series.Contains(l, StringComparison.Ordinal)))
            {
                sum += value;
            }
        }

        return sum;
    }

    /// <summary><paramref name="after"/> minus <paramref name="before"/> for one series (0 when absent).</summary>
    public static double Delta(Dictionary<string, double> before, Dictionary<string, double> after, string series)
        => after.GetValueOrDefault(series) - before.GetValueOrDefault(series);
}
