using System.Net;
using System.Text.Json;
using LoadBalancer.Core.Tenancy;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>
/// The durable usage ledger against the real lb process (issue 13): N requests, SIGTERM, start again, M more, and the
/// ledger says N+M to the request; a consumer's quota survives the restart; SIGKILL loses at most the last flush
/// interval; a database that cannot be written keeps lb serving and counting.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class UsageLedgerTests
{
    private const string Key = "lbk_ledger_consumer_0123456789";
    private string _directory = null!;

    [SetUp]
    public void SetUp() => _directory = Directory.CreateTempSubdirectory("lb-ledger-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_directory, recursive: true);

    private string Config(string backend, string usagePath = "usage.db", string flush = "1s") => $$"""
        [usage]
        path = "{{usagePath}}"
        flush_interval = "{{flush}}"

        [admin]
        listen = "127.0.0.1:0"

        [[listeners]]
        name = "web"
        listen = "127.0.0.1:0"

        [[tenants]]
        name = "acme"
        match = ["acme.test"]
        pool = "p"

        [[tenants.routes]]
        name = "chat"
        path_prefix = "/chat"

        [[pools]]
        name = "p"
        backends = [{ address = "{{backend}}" }]

        [[consumers]]
        name = "mobile"
        tenant = "acme"
        keys = [ { id = "m1", sha256 = "{{AccessKeyGenerator.Sha256Hex(Key)}}" } ]
        quota = { requests = 5, period = "day" }
        """;

    private static async Task<List<int>> SendAsync(LbProcess lb, int count, string path, CancellationToken cancellationToken)
    {
        var statuses = new List<int>();
        await using var connection = await RawHttpConnection.ConnectAsync(lb.EndPoint(), cancellationToken);
        for (var i = 0; i < count; i++)
        {
            await connection.SendAsync($"GET {path} HTTP/1.1\r\nHost: acme.test\r\nAuthorization: Bearer {Key}\r\n\r\n", cancellationToken);
            statuses.Add((await connection.ReadResponseAsync(cancellationToken))!.Status);
        }

        return statuses;
    }

    private static async Task<JsonElement> LedgerAsync(LbProcess lb, string query, CancellationToken cancellationToken)
    {
        using var admin = new HttpClient { BaseAddress = new Uri($"http://{lb.AdminEndPoint}/") };
        var text = await admin.GetStringAsync($"api/usage?{query}", cancellationToken);
        return JsonDocument.Parse(text).RootElement;
    }

    private static long StoredRequests(string database)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COALESCE(SUM(requests), 0) FROM usage";
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static long Requests(JsonElement ledger) => ledger.GetProperty("rows").EnumerateArray().Sum(r => r.GetProperty("requests").GetInt64());

    [Test]
    [CancelAfter(60_000)]
    public async Task RestartExactness_QuotaSurvives_CsvExport(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        var path = Path.Combine(_directory, "lb.toml");
        await File.WriteAllTextAsync(path, Config(backend.Address), cancellationToken);

        var first = await LbProcess.StartAsync(path, cancellationToken, null, "--no-watch");
        List<int> before;
        await using (first)
        {
            // 3 on the consumer's quota (5 a day), 4 with the same key on the fallback: the quota counts them all.
            before = [.. await SendAsync(first, 3, "/chat/a", cancellationToken), .. await SendAsync(first, 1, "/other", cancellationToken)];
            first.Signal(LbProcess.SIGTERM);
            Assert.That(await first.WaitForExitAsync(cancellationToken), Is.Zero, first.Output);
        }

        Assert.That(before, Is.EqualTo(new[] { 200, 200, 200, 200 }));
        var second = await LbProcess.StartAsync(path, cancellationToken, null, "--no-watch");
        await using (second)
        {
            await second.WaitForOutputAsync("quota of consumer mobile (tenant acme) restored: 4 requests", cancellationToken);
            var after = await SendAsync(second, 3, "/chat/b", cancellationToken);
            Assert.That(after, Is.EqualTo(new[] { 200, 429, 429 }), "4 before the restart + 1 = the quota of 5");

            var all = await LedgerAsync(second, "from=0&group_by=tenant", cancellationToken);
            Assert.That(Requests(all), Is.EqualTo(7), "N + M, to the request");
            var byRoute = await LedgerAsync(second, "from=0&group_by=tenant,consumer,route&granularity=minute", cancellationToken);
            var rows = byRoute.GetProperty("rows").EnumerateArray().ToArray();
            Assert.That(rows.All(r => r.GetProperty("consumer").GetString() == "mobile"), Is.True);
            Assert.That(rows.Where(r => r.GetProperty("route").GetString() == "chat").Sum(r => r.GetProperty("requests").GetInt64()), Is.EqualTo(6));
            Assert.That(rows.Where(r => r.GetProperty("route").GetString() == "").Sum(r => r.GetProperty("requests").GetInt64()), Is.EqualTo(1));
            Assert.That(rows.Sum(r => r.GetProperty("refused").TryGetProperty("quota_exceeded", out var q) ? q.GetInt64() : 0), Is.EqualTo(2));

            using var admin = new HttpClient { BaseAddress = new Uri($"http://{second.AdminEndPoint}/") };
            var csv = await admin.GetStringAsync("api/usage?from=0&group_by=tenant&format=csv", cancellationToken);
            var lines = csv.TrimEnd('\n').Split('\n');
            Assert.That(lines[0], Is.EqualTo("period,tenant,requests,requests_none,requests_1xx,requests_2xx,requests_3xx,requests_4xx,requests_5xx,bytes_in,bytes_out,duration_seconds_sum,refused,tcp_connections,tcp_refused,tcp_bytes_in,tcp_bytes_out,tcp_duration_seconds_sum"));
            Assert.That(lines.Skip(1).Sum(l => long.Parse(l.Split(',')[2], System.Globalization.CultureInfo.InvariantCulture)), Is.EqualTo(7));
            Assert.That(lines.Skip(1).Sum(l => long.Parse(l.Split(',')[7], System.Globalization.CultureInfo.InvariantCulture)), Is.EqualTo(2), "two 429s (4xx)");

            // The plain /api/usage keeps its contract (since this process started).
            var live = JsonDocument.Parse(await admin.GetStringAsync("api/usage", cancellationToken)).RootElement;
            Assert.That(live.GetProperty("tenants")[0].GetProperty("requests_total").GetInt64(), Is.EqualTo(3));

            // The key API's requests and last_used come back from the ledger too: 4 before the restart + 3 after.
            JsonElement key = default;
            await Eventually.UntilAsync(() =>
            {
                var keys = JsonDocument.Parse(admin.GetStringAsync("api/config/consumers/mobile/keys", cancellationToken).GetAwaiter().GetResult()).RootElement;
                key = keys.GetProperty("keys").EnumerateArray().Single(k => k.GetProperty("id").GetString() == "m1").Clone();
                return key.GetProperty("requests").GetInt64() == 7;
            }, cancellationToken);
            Assert.That(DateTimeOffset.Parse(key.GetProperty("last_used").GetString()!, System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(DateTimeOffset.UtcNow).Within(TimeSpan.FromMinutes(1)));
            second.Signal(LbProcess.SIGTERM);
            Assert.That(await second.WaitForExitAsync(cancellationToken), Is.Zero, second.Output);
        }

        // And they are in the ledger's keys table after the second stop: what a third start restores.
        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_directory, "usage.db")};Mode=ReadOnly;Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT requests, last_used > 0 FROM keys WHERE tenant = 'acme' AND key = 'm1'";
            using var reader = command.ExecuteReader();
            Assert.That(reader.Read(), Is.True);
            Assert.That((reader.GetInt64(0), reader.GetInt64(1)), Is.EqualTo((7L, 1L)));
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ConsumerRemovedThenAddedByReload_GetsItsStoredQuotaUsageBack(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        var path = Path.Combine(_directory, "lb.toml");
        var withConsumer = Config(backend.Address);
        await File.WriteAllTextAsync(path, withConsumer, cancellationToken);
        await using var lb = await LbProcess.StartAsync(path, cancellationToken, null, "--no-watch");
        using var admin = new HttpClient { BaseAddress = new Uri($"http://{lb.AdminEndPoint}/") };

        Assert.That(await SendAsync(lb, 3, "/chat/a", cancellationToken), Is.EqualTo(new[] { 200, 200, 200 }));
        while (StoredRequests(Path.Combine(_directory, "usage.db")) < 3)
        {
            // The ledger flushes every second; the test's CancelAfter bounds the wait.
            await Task.Delay(100, cancellationToken);
        }

        await File.WriteAllTextAsync(path, withConsumer[..withConsumer.IndexOf("[[consumers]]", StringComparison.Ordinal)], cancellationToken);
        (await admin.PostAsync("reload", null, cancellationToken)).EnsureSuccessStatusCode();
        await File.WriteAllTextAsync(path, withConsumer, cancellationToken);
        (await admin.PostAsync("reload", null, cancellationToken)).EnsureSuccessStatusCode();
        await lb.WaitForOutputAsync("quota of consumer mobile (tenant acme) restored: 3 requests", cancellationToken);

        Assert.That(await SendAsync(lb, 3, "/chat/b", cancellationToken), Is.EqualTo(new[] { 200, 200, 429 }), "3 stored + 2 = the quota of 5, not a fresh 5");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Sigkill_LosesAtMostTheLastFlushInterval(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        var path = Path.Combine(_directory, "lb.toml");
        await File.WriteAllTextAsync(path, Config(backend.Address), cancellationToken);
        var first = await LbProcess.StartAsync(path, cancellationToken, null, "--no-watch");
        await using (first)
        {
            Assert.That(await SendAsync(first, 2, "/chat/a", cancellationToken), Is.EqualTo(new[] { 200, 200 }));

            // A query flushes; then 2 more requests, and the database file is watched (read-only, from here) until it
            // holds them: how long a request waits to be durable, the most SIGKILL can lose.
            Assert.That(Requests(await LedgerAsync(first, "from=0", cancellationToken)), Is.EqualTo(2));
            Assert.That(await SendAsync(first, 2, "/chat/b", cancellationToken), Is.EqualTo(new[] { 200, 200 }));
            var sent = System.Diagnostics.Stopwatch.StartNew();
            while (StoredRequests(Path.Combine(_directory, "usage.db")) < 4)
            {
                Assert.That(sent.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)), "the writer stored nothing");
                await Task.Delay(20, cancellationToken);
            }

            TestContext.Progress.WriteLine($"ledger: requests durable {sent.Elapsed.TotalMilliseconds:F0} ms after their answers (flush_interval 1s)");
            Assert.That(sent.Elapsed, Is.LessThan(TimeSpan.FromSeconds(3)), "durable within about one flush interval");
            first.Signal(9);
            await first.WaitForExitAsync(cancellationToken);
        }

        var second = await LbProcess.StartAsync(path, cancellationToken, null, "--no-watch");
        await using (second)
        {
            Assert.That(Requests(await LedgerAsync(second, "from=0", cancellationToken)), Is.EqualTo(4), "everything older than one flush interval survived SIGKILL");
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task UnwritableDatabase_KeepsServingAndCountingInMemory(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        var path = Path.Combine(_directory, "lb.toml");

        // A regular file where the database's directory should be: no one (root included) can create the database.
        await File.WriteAllTextAsync(Path.Combine(_directory, "not-a-directory"), "", cancellationToken);
        await File.WriteAllTextAsync(path, Config(backend.Address, "not-a-directory/usage.db"), cancellationToken);
        await using var lb = await LbProcess.StartAsync(path, cancellationToken, null, "--no-watch");
        await lb.WaitForOutputAsync("cannot open the database", cancellationToken);

        Assert.That(await SendAsync(lb, 3, "/chat/a", cancellationToken), Is.EqualTo(new[] { 200, 200, 200 }));
        using var admin = new HttpClient { BaseAddress = new Uri($"http://{lb.AdminEndPoint}/") };
        var live = JsonDocument.Parse(await admin.GetStringAsync("api/usage", cancellationToken)).RootElement;
        Assert.That(live.GetProperty("tenants")[0].GetProperty("requests_total").GetInt64(), Is.EqualTo(3), "counted in memory");
        Assert.That(Requests(await LedgerAsync(lb, "from=0", cancellationToken)), Is.Zero, "nothing could be stored");
        lb.Signal(LbProcess.SIGTERM);
        Assert.That(await lb.WaitForExitAsync(cancellationToken), Is.Zero, lb.Output);
    }
}
