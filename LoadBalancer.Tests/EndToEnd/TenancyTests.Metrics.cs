using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using LoadBalancer.Core.Tenancy;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd;

public sealed partial class TenancyTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task Counters_ThirtyTwoConnectionsOverTwoLoops_EachLoopCountsApart_SumsExact(CancellationToken cancellationToken)
    {
        const int connections = 32;
        const int perConnection = 20;
        const int n = connections * perConnection;
        await using var backends = TestBackends.Start("b1");
        await using var lb = await TestLb.StartAsync(Config(backends.Address("b1")), loops: 2);
        await using var admin = TestAdmin.Start(lb);

        // Raw keep-alive connections: the kernel spreads them over both loops' listening sockets.
        await Parallel.ForAsync(0, connections, new ParallelOptions { MaxDegreeOfParallelism = connections, CancellationToken = cancellationToken }, async (c, ct) =>
        {
            await using var connection = await lb.ConnectAsync(ct);
            for (var i = 0; i < perConnection; i++)
            {
                await connection.SendAsync($"GET /{c}/{i} HTTP/1.1\r\nHost: acme.example.com\r\n\r\n", ct);
                Assert.That((await connection.ReadResponseAsync(ct))!.Status, Is.EqualTo(200));
            }
        });

        var state = lb.Snapshot.Listeners[0].Tenants.Find("acme.example.com"u8)!.State;
        await EventuallyAsync(() => Task.FromResult(state.InFlight == 0 && state.ActiveConnections == 0), cancellationToken);
        var samples = ParsePrometheus(await admin.GetAsync("/metrics", cancellationToken));
        var backend = lb.Snapshot.Pools["p"].Backends[0];
        using (Assert.EnterMultipleScope())
        {
            // Epoll: both loops counted, each in its own copy (and no other thread did); .NET's engine has one copy.
            Assert.That(state.CounterCopies, Is.EqualTo(lb.Engine.Sockets.UsesEpoll ? 2 : 1));
            Assert.That(state.Requests(2), Is.EqualTo(n));
            Assert.That(state.TotalRequests, Is.EqualTo(n));
            Assert.That(state.Latency.Count, Is.EqualTo(n));
            Assert.That(backend.Requests, Is.EqualTo(n));
            Assert.That(backend.InFlight, Is.Zero);
            Assert.That(samples["lb_requests_total{tenant=\"acme\",code=\"2xx\"}"], Is.EqualTo(n));
            Assert.That(samples["lb_request_duration_seconds_count{tenant=\"acme\"}"], Is.EqualTo(n));
            Assert.That(samples["lb_request_duration_seconds_bucket{tenant=\"acme\",le=\"+Inf\"}"], Is.EqualTo(n));
            Assert.That(samples[$"lb_backend_requests_total{{pool=\"p\",backend=\"{backends.Address("b1")}\"}}"], Is.EqualTo(n));
            Assert.That(samples["lb_in_flight_requests{tenant=\"acme\"}"], Is.Zero);
            Assert.That(samples["lb_bytes_received_total{tenant=\"acme\"}"], Is.EqualTo(state.BytesReceived));
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Counters_AfterNRequests_MetricsAndUsageShowExactlyN(CancellationToken cancellationToken)
    {
        const int n = 37;
        await using var backends = TestBackends.Start("b1");
        await using var lb = await TestLb.StartAsync(Config(backends.Address("b1")));
        await using var admin = TestAdmin.Start(lb);

        using var client = lb.CreateClient(maxConnections: 4);
        long bytesReceivedByClient = 0;
        await Parallel.ForAsync(0, n, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/item/{i}");
            request.Headers.Host = "acme.example.com";
            using var response = await client.SendAsync(request, ct);
            Assert.That((int)response.StatusCode, Is.EqualTo(200));
            Interlocked.Add(ref bytesReceivedByClient, (await response.Content.ReadAsByteArrayAsync(ct)).Length);
        });
        Assert.That((await SendAsync(lb, Get("nobody.example.com"), cancellationToken))!.Status, Is.EqualTo(421), "unmatched: counted for no tenant");

        await EventuallyAsync(async () => (await admin.GetAsync("/metrics", cancellationToken)).Contains($"lb_requests_total{{tenant=\"acme\",code=\"2xx\"}} {n}\n"), cancellationToken);
        var metrics = await admin.GetAsync("/metrics", cancellationToken);
        var samples = ParsePrometheus(metrics);
        Assert.That(samples["lb_requests_total{tenant=\"acme\",code=\"2xx\"}"], Is.EqualTo(n));
        Assert.That(samples.Where(s => s.Key.StartsWith("lb_requests_total{tenant=\"acme\"", StringComparison.Ordinal)).Sum(s => s.Value), Is.EqualTo(n));
        Assert.That(samples.Where(s => s.Key.StartsWith("lb_requests_total{tenant=\"globex\"", StringComparison.Ordinal)).Sum(s => s.Value), Is.Zero);
        Assert.That(samples["lb_request_duration_seconds_count{tenant=\"acme\"}"], Is.EqualTo(n));
        Assert.That(samples["lb_request_duration_seconds_bucket{tenant=\"acme\",le=\"+Inf\"}"], Is.EqualTo(n));
        Assert.That(samples["lb_bytes_sent_total{tenant=\"acme\"}"], Is.GreaterThan(bytesReceivedByClient));
        Assert.That(samples["lb_bytes_received_total{tenant=\"acme\"}"], Is.GreaterThan(n * 20));
        Assert.That(samples[$"lb_backend_requests_total{{pool=\"p\",backend=\"{backends.Address("b1")}\"}}"], Is.EqualTo(n));
        Assert.That(samples["lb_rate_limited_total{tenant=\"acme\"}"], Is.Zero);

        using var usage = JsonDocument.Parse(await admin.GetAsync("/api/usage", cancellationToken));
        var acme = usage.RootElement.GetProperty("tenants").EnumerateArray().Single(t => t.GetProperty("tenant").GetString() == "acme");
        Assert.That(acme.GetProperty("requests_total").GetInt64(), Is.EqualTo(n));
        Assert.That(acme.GetProperty("requests").GetProperty("2xx").GetInt64(), Is.EqualTo(n));
        Assert.That(acme.GetProperty("bytes_sent").GetInt64(), Is.EqualTo((long)samples["lb_bytes_sent_total{tenant=\"acme\"}"]));

        using var tenants = JsonDocument.Parse(await admin.GetAsync("/api/tenants", cancellationToken));
        var acmeStatus = tenants.RootElement.GetProperty("tenants").EnumerateArray().Single(t => t.GetProperty("tenant").GetString() == "acme");
        Assert.That(acmeStatus.GetProperty("pool").GetString(), Is.EqualTo("p"));
        var backend = acmeStatus.GetProperty("backends").EnumerateArray().Single();
        Assert.That(backend.GetProperty("address").GetString(), Is.EqualTo(backends.Address("b1")));
        Assert.That(backend.GetProperty("healthy").GetBoolean(), Is.True);
        Assert.That(backend.GetProperty("requests").GetInt64(), Is.EqualTo(n));
        Assert.That(acmeStatus.GetProperty("rates").TryGetProperty("requests_per_second", out _), Is.True);
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Counters_SurviveReload_SameTenantStateAndLimiter(CancellationToken cancellationToken)
    {
        await using var backends = TestBackends.Start("b1");
        var toml = Config(backends.Address("b1"), "rate_limit = { requests_per_second = 100, burst = 100 }");
        await using var lb = await TestLb.StartAsync(toml);
        Assert.That((await SendAsync(lb, Get("acme.example.com"), cancellationToken))!.Status, Is.EqualTo(200));
        var before = lb.Snapshot.Tenants["acme"].State;
        var limiter = lb.Snapshot.Tenants["acme"].RateLimiter;
        await EventuallyAsync(() => Task.FromResult(before.TotalRequests == 1), cancellationToken);

        var reloaded = Core.Config.ConfigLoader.LoadText(toml, "test.toml", lb.Snapshot);
        await lb.Engine.ApplyAsync(reloaded.Snapshot!);
        var after = lb.Snapshot.Tenants["acme"].State;
        Assert.That(after, Is.SameAs(before));
        Assert.That(lb.Snapshot.Tenants["acme"].RateLimiter, Is.SameAs(limiter), "an unchanged rate_limit keeps its bucket");
        Assert.That(after.TotalRequests, Is.EqualTo(1));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Metrics_PrometheusText_EveryLineParses_FamiliesDeclaredOnce_LabelsEscaped(CancellationToken cancellationToken)
    {
        await using var backends = TestBackends.Start("b1");
        await using var lb = await TestLb.StartAsync(Config(backends.Address("b1")).Replace("name = \"globex\"", "name = \"glo\\\"bex\\\\\"", StringComparison.Ordinal));
        await using var admin = TestAdmin.Start(lb, token: "0123456789abcdef-admin");

        using (var anonymous = new HttpClient { BaseAddress = admin.Client.BaseAddress })
        {
            Assert.That((int)(await anonymous.GetAsync("/metrics", cancellationToken)).StatusCode, Is.EqualTo(401), "the admin token is required");
        }

        admin.Client.DefaultRequestHeaders.Authorization = new("Bearer", "0123456789abcdef-admin");
        Assert.That((await SendAsync(lb, Get("acme.example.com"), cancellationToken))!.Status, Is.EqualTo(200));
        using var response = await admin.Client.GetAsync("/metrics", cancellationToken);
        Assert.That(response.Content.Headers.ContentType!.ToString(), Does.StartWith("text/plain; version=0.0.4"));
        var text = await response.Content.ReadAsStringAsync(cancellationToken);

        ParsePrometheus(text);
        Assert.That(text, Does.Contain("lb_requests_total{tenant=\"glo\\\"bex\\\\\",code=\"2xx\"} 0\n"));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task AccessLog_OneJsonLinePerRequest_WithTenantKeyStatusAndBytes(CancellationToken cancellationToken)
    {
        var directory = Directory.CreateTempSubdirectory("lb-log-");
        try
        {
            await using var backends = TestBackends.Start("b1");
            var lb = await TestLb.StartAsync(
                Config(backends.Address("b1"), $"access_keys = [ {{ id = \"ci\", sha256 = \"{AccessKeyGenerator.Sha256Hex(GoodKey)}\" }} ]", root: "[access_log]\npath = \"access.log\"\n"),
                Path.Combine(directory.FullName, "lb.toml"));
            await using (lb)
            {
                await using var connection = await lb.ConnectAsync(cancellationToken);
                for (var i = 0; i < 5; i++)
                {
                    await connection.SendAsync($"GET /log/{i}?q=\"x\" HTTP/1.1\r\nHost: acme.example.com\r\nAuthorization: Bearer {GoodKey}\r\n\r\n", cancellationToken);
                    Assert.That((await connection.ReadResponseAsync(cancellationToken))!.Status, Is.EqualTo(200));
                }

                Assert.That((await SendAsync(lb, Get("acme.example.com"), cancellationToken))!.Status, Is.EqualTo(401));
            }

            var lines = await File.ReadAllLinesAsync(Path.Combine(directory.FullName, "access.log"), cancellationToken);
            Assert.That(lines, Has.Length.EqualTo(6));
            var entries = lines.Select(l => JsonDocument.Parse(l).RootElement).ToArray();
            var ok = entries.Where(e => e.GetProperty("status").GetInt32() == 200).ToArray();
            Assert.That(ok, Has.Length.EqualTo(5));
            Assert.That(ok.Select(e => e.GetProperty("path").GetString()), Is.EquivalentTo(Enumerable.Range(0, 5).Select(i => $"/log/{i}?q=\"x\"")));
            foreach (var entry in ok)
            {
                Assert.That(entry.GetProperty("tenant").GetString(), Is.EqualTo("acme"));
                Assert.That(entry.GetProperty("key_id").GetString(), Is.EqualTo("ci"));
                Assert.That(entry.GetProperty("method").GetString(), Is.EqualTo("GET"));
                Assert.That(entry.GetProperty("client").GetString(), Is.EqualTo("127.0.0.1"));
                Assert.That(entry.GetProperty("backend").GetString(), Is.EqualTo(backends.Address("b1")));
                Assert.That(entry.GetProperty("bytes_in").GetInt64(), Is.GreaterThan(0));
                Assert.That(entry.GetProperty("bytes_out").GetInt64(), Is.GreaterThan(0));
                Assert.That(entry.GetProperty("duration_ms").GetDouble(), Is.GreaterThanOrEqualTo(0));
                Assert.That(entry.GetProperty("close_reason").GetString(), Is.EqualTo("keep-alive"));
                Assert.That(DateTime.Parse(entry.GetProperty("time").GetString()!, CultureInfo.InvariantCulture), Is.Not.EqualTo(default(DateTime)));
            }

            var refused = entries.Single(e => e.GetProperty("status").GetInt32() == 401);
            Assert.That(refused.GetProperty("key_id").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(refused.GetProperty("backend").ValueKind, Is.EqualTo(JsonValueKind.Null));
            // A body-less refusal keeps the connection open, so the request itself did not close it.
            Assert.That(refused.GetProperty("close_reason").GetString(), Is.EqualTo("keep-alive"));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[a-zA-Z_][a-zA-Z0-9_]*="(\\[\\"n]|[^\\"\n])*"(,[a-zA-Z_][a-zA-Z0-9_]*="(\\[\\"n]|[^\\"\n])*")*)\})? (?<value>[-+]?(\d+(\.\d*)?([eE][-+]?\d+)?|Inf|NaN))$""")]
    private static partial Regex SampleLine();

    [GeneratedRegex("""^# (HELP|TYPE) (?<name>[a-zA-Z_:][a-zA-Z0-9_:]*) (?<rest>.+)$""")]
    private static partial Regex CommentLine();

    /// <summary>
    /// Checks the exposition format line by line: HELP then TYPE once per family before its samples, samples of declared
    /// families only (histograms: _bucket/_sum/_count), valid names, labels and values, cumulative buckets ending at
    /// +Inf = _count. Returns every sample by its name and labels.
    /// </summary>
    private static Dictionary<string, double> ParsePrometheus(string text)
    {
        Assert.That(text, Does.EndWith("\n"));
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        var helped = new HashSet<string>(StringComparer.Ordinal);
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        var lineNumber = 0;
        foreach (var line in text.TrimEnd('\n').Split('\n'))
        {
            lineNumber++;
            if (line.StartsWith('#'))
            {
                var comment = CommentLine().Match(line);
                Assert.That(comment.Success, Is.True, $"line {lineNumber}: bad comment: {line}");
                var name = comment.Groups["name"].Value;
                if (line.StartsWith("# HELP", StringComparison.Ordinal))
                {
                    Assert.That(helped.Add(name), Is.True, $"line {lineNumber}: HELP twice for {name}");
                }
                else
                {
                    Assert.That(comment.Groups["rest"].Value, Is.AnyOf("counter", "gauge", "histogram"), $"line {lineNumber}");
                    Assert.That(types.TryAdd(name, comment.Groups["rest"].Value), Is.True, $"line {lineNumber}: TYPE twice for {name}");
                }

                continue;
            }

            var sample = SampleLine().Match(line);
            Assert.That(sample.Success, Is.True, $"line {lineNumber}: bad sample: {line}");
            var sampleName = sample.Groups["name"].Value;
            var family = types.ContainsKey(sampleName) ? sampleName : Regex.Replace(sampleName, "_(bucket|sum|count)$", "");
            Assert.That(types.ContainsKey(family), Is.True, $"line {lineNumber}: sample of undeclared family {sampleName}");
            if (family != sampleName)
            {
                Assert.That(types[family], Is.EqualTo("histogram"), $"line {lineNumber}");
            }
            else if (types[family] == "counter")
            {
                Assert.That(sampleName, Does.EndWith("_total"), $"line {lineNumber}: counters end in _total");
            }

            var key = line[..line.LastIndexOf(' ')];
            var valueText = sample.Groups["value"].Value;
            var value = valueText.EndsWith("Inf", StringComparison.Ordinal) ? double.PositiveInfinity : double.Parse(valueText, CultureInfo.InvariantCulture);
            Assert.That(samples.TryAdd(key, value), Is.True, $"line {lineNumber}: duplicate series {key}");
        }

        // Histograms: buckets cumulative, +Inf equals _count.
        foreach (var (family, _) in types.Where(t => t.Value == "histogram"))
        {
            foreach (var count in samples.Where(s => s.Key.StartsWith(family + "_count", StringComparison.Ordinal)))
            {
                var labels = count.Key[(family.Length + "_count".Length)..].TrimStart('{').TrimEnd('}');
                var buckets = samples.Where(s => s.Key.StartsWith($"{family}_bucket{{{labels},le=", StringComparison.Ordinal)).Select(s => s.Value).ToArray();
                Assert.That(buckets, Is.Ordered, $"{family} {labels}: buckets must be cumulative");
                Assert.That(buckets[^1], Is.EqualTo(count.Value), $"{family} {labels}: +Inf bucket equals _count");
            }
        }

        return samples;
    }
}
