using System.Net.Sockets;
using System.Text.Json;
using LoadBalancer.Tests.TestSupport;
using Microsoft.Data.Sqlite;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>
/// A tcp listener's connections in every place usage goes (issue 12): the durable ledger (table <c>connections</c>,
/// the <c>/api/usage?from=</c> rows and CSV), Prometheus (<c>protocol="tcp"</c>) and the access log, with the whole
/// application in-process; exact counts for one tunnel and one refusal at max_connections.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class TcpUsageTests
{
    private static string Config(string backend) => $$"""
        [admin]
        listen = "127.0.0.1:0"

        [usage]
        path = "usage.db"
        flush_interval = "1s"

        [access_log]
        path = "access.log"

        [[listeners]]
        name = "l4"
        listen = "127.0.0.1:0"
        protocol = "tcp"
        default_tenant = "a"

        [[tenants]]
        name = "a"
        match = ["a.test"]
        pool = "p"
        max_connections = 1

        [[pools]]
        name = "p"
        backends = [ { address = "{{backend}}" } ]
        """;

    private static async Task<Socket> ConnectAsync(LbTestHost lb, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(lb.EndPoint("l4"), cancellationToken);
        return socket;
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task TcpTunnelAndRefusal_InLedgerMetricsAndAccessLog_Exactly(CancellationToken cancellationToken)
    {
        await using var echo = TcpEchoBackend.Start();
        await using var lb = await LbTestHost.StartAsync(Config(echo.Address));
        var directory = Path.GetDirectoryName(lb.ConfigPath)!;
        using var admin = new HttpClient { BaseAddress = new Uri($"http://{lb.AdminEndPoint}/") };
        var tenant = lb.Engine.Snapshots.Current.Tenants["a"].State;

        var data = new byte[1000];
        new Random(7).NextBytes(data);
        using (var first = await ConnectAsync(lb, cancellationToken))
        {
            await first.SendAsync(data, cancellationToken);
            var back = new byte[data.Length];
            var read = 0;
            while (read < back.Length)
            {
                read += await first.ReceiveAsync(back.AsMemory(read), cancellationToken);
            }

            Assert.That(back, Is.EqualTo(data));

            // The tenant's one connection is taken: the second is closed unanswered.
            using var second = await ConnectAsync(lb, cancellationToken);
            int got;
            try
            {
                got = await second.ReceiveAsync(new byte[1], cancellationToken);
            }
            catch (SocketException)
            {
                got = 0;
            }

            Assert.That(got, Is.Zero);
            first.Shutdown(SocketShutdown.Send);
            while (await first.ReceiveAsync(new byte[64], cancellationToken) > 0)
            {
            }
        }

        await Eventually.UntilAsync(() => tenant.ActiveConnections == 0 && tenant.TcpDurationTicks > 0, cancellationToken);

        using (var usage = JsonDocument.Parse(await admin.GetStringAsync("api/usage?from=0&group_by=tenant,consumer,route&granularity=day", cancellationToken)))
        {
            var rows = usage.RootElement.GetProperty("rows").EnumerateArray().ToArray();
            var tcp = rows.Where(r => r.TryGetProperty("connections", out _)).SelectMany(r => r.GetProperty("connections").EnumerateArray()).Single();
            using (Assert.EnterMultipleScope())
            {
                Assert.That(tcp.GetProperty("protocol").GetString(), Is.EqualTo("tcp"));
                Assert.That(tcp.GetProperty("total").GetInt64(), Is.EqualTo(1));
                Assert.That(tcp.GetProperty("refused").GetInt64(), Is.EqualTo(1));
                Assert.That(tcp.GetProperty("bytes_in").GetInt64(), Is.EqualTo(1000));
                Assert.That(tcp.GetProperty("bytes_out").GetInt64(), Is.EqualTo(1000));
                Assert.That(tcp.GetProperty("duration_seconds_sum").GetDouble(), Is.GreaterThan(0));
                Assert.That(rows.Sum(r => r.GetProperty("requests").GetInt64()), Is.Zero, "a tunnel is no request");
            }
        }

        var csv = (await admin.GetStringAsync("api/usage?from=0&format=csv", cancellationToken)).TrimEnd('\n').Split('\n');
        var header = csv[0].Split(',');
        var cells = csv[1].Split(',');
        Assert.That(
            (cells[Array.IndexOf(header, "tcp_connections")], cells[Array.IndexOf(header, "tcp_refused")], cells[Array.IndexOf(header, "tcp_bytes_in")], cells[Array.IndexOf(header, "tcp_bytes_out")]),
            Is.EqualTo(("1", "1", "1000", "1000")),
            string.Join("\n", csv));

        var metrics = await admin.GetStringAsync("metrics", cancellationToken);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(metrics, Does.Contain("lb_connections_total{tenant=\"a\",protocol=\"tcp\"} 1\n"));
            Assert.That(metrics, Does.Contain("lb_connections_refused_total{tenant=\"a\",protocol=\"tcp\"} 1\n"));
            Assert.That(metrics, Does.Contain("lb_connection_bytes_received_total{tenant=\"a\",protocol=\"tcp\"} 1000\n"));
            Assert.That(metrics, Does.Contain("lb_connection_bytes_sent_total{tenant=\"a\",protocol=\"tcp\"} 1000\n"));
            Assert.That(metrics, Does.Contain("lb_connection_duration_seconds_total{tenant=\"a\",protocol=\"tcp\"} "));
            Assert.That(metrics, Does.Contain("lb_refused_total{tenant=\"a\",reason=\"max_connections\"} 1\n"));
        }

        var logPath = Path.Combine(directory, "access.log");
        string[] lines = [];
        await Eventually.UntilAsync(() => (lines = File.Exists(logPath) ? File.ReadAllLines(logPath) : []).Length == 2, cancellationToken);
        var entries = lines.Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToArray();
        var refused = entries.Single(e => e.GetProperty("close_reason").GetString() == "tenant-over-limit");
        var tunnel = entries.Single(e => e.GetProperty("close_reason").GetString() == "tunnel-closed");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(entries.Select(e => e.GetProperty("protocol").GetString()), Is.All.EqualTo("tcp"));
            Assert.That(entries.Select(e => e.TryGetProperty("status", out _) || e.TryGetProperty("method", out _)), Is.All.False, "no request, so no method or status");
            Assert.That((tunnel.GetProperty("tenant").GetString(), tunnel.GetProperty("client").GetString(), tunnel.GetProperty("backend").GetString()), Is.EqualTo(("a", "127.0.0.1", echo.Address)));
            Assert.That((tunnel.GetProperty("bytes_in").GetInt64(), tunnel.GetProperty("bytes_out").GetInt64()), Is.EqualTo((1000L, 1000L)));
            Assert.That((refused.GetProperty("bytes_in").GetInt64(), refused.GetProperty("backend").ValueKind), Is.EqualTo((0L, JsonValueKind.Null)));
        }

        // Stopping flushes: the database holds the same, read with SQLite directly.
        await lb.StopAsync();
        await using var database = new SqliteConnection($"Data Source={Path.Combine(directory, "usage.db")};Pooling=False");
        await database.OpenAsync(cancellationToken);
        await using var command = database.CreateCommand();
        command.CommandText = "SELECT tenant, protocol, SUM(connections), SUM(refused), SUM(bytes_in), SUM(bytes_out) FROM connections GROUP BY tenant, protocol";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        Assert.That(await reader.ReadAsync(cancellationToken), Is.True);
        Assert.That((reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5)), Is.EqualTo(("a", "tcp", 1L, 1L, 1000L, 1000L)));
        Assert.That(await reader.ReadAsync(cancellationToken), Is.False);
    }
}
