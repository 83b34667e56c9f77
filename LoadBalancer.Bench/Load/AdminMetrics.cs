using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LoadBalancer.Bench.Load;

/// <summary>
/// Reads lb's <c>GET /metrics</c> from its admin listener (one request, <c>Connection: close</c>) into a map from
/// <c>name{labels}</c> (as printed) to value, so scenarios can report lb's own counts next to what the generator saw.
/// </summary>
internal static class AdminMetrics
{
    public static async Task<Dictionary<string, double>> ReadAsync(IPEndPoint admin)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await socket.ConnectAsync(admin, cts.Token).ConfigureAwait(false);
        await socket.SendAsync("GET /metrics HTTP/1.1\r\nHost: lb\r\nConnection: close\r\n\r\n"u8.ToArray(), SocketFlags.None, cts.Token).ConfigureAwait(false);
        var response = new MemoryStream();
        var buffer = new byte[64 * 1024];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token).ConfigureAwait(false)) > 0)
        {
            response.Write(buffer, 0, read);
        }

        var text = Encoding.UTF8.GetString(response.ToArray());
        var body = text.IndexOf("\r\n\r\n", StringComparison.Ordinal) is var end and >= 0 ? text[(end + 4)..] : "";
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
