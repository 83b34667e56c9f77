using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>
/// Backends by DNS name, end to end: an in-test DNS server on 127.0.0.1 (UDP) answers for the names, backends listen
/// on 127.0.0.x addresses of one port, and requests go through lb with real clients.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed partial class DnsBackendTests
{
    private static readonly IPAddress AddressA = IPAddress.Parse("127.0.0.2");
    private static readonly IPAddress AddressB = IPAddress.Parse("127.0.0.3");

    private static string Config(DnsResponder dns, string backends, string dnsExtra = "", string poolExtra = "") => $$"""
        [admin]
        listen = "127.0.0.1:0"

        [dns]
        servers = ["{{dns.Server}}"]
        min_ttl = "1s"
        {{dnsExtra}}

        [[listeners]]
        name = "web"
        listen = "127.0.0.1:0"

        [[tenants]]
        name = "t"
        match = ["t.test"]
        pool = "p"

        [[pools]]
        name = "p"
        backends = [{{backends}}]
        {{poolExtra}}
        """;

    /// <summary>Two backends on one port, at 127.0.0.2 and 127.0.0.3 (a name carries one port for all its addresses).</summary>
    private static (HoldingBackend A, HoldingBackend B) StartPair(string? holdPathOnA = null)
    {
        for (var attempt = 0; ; attempt++)
        {
            var a = HoldingBackend.Start("a", hold: holdPathOnA is not null, bind: new IPEndPoint(AddressA, 0), holdPath: holdPathOnA);
            try
            {
                return (a, HoldingBackend.Start("b", bind: new IPEndPoint(AddressB, a.EndPoint.Port)));
            }
            catch (System.Net.Sockets.SocketException) when (attempt < 5)
            {
                // Something else holds that port on 127.0.0.3: take another pair.
                a.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        }
    }

    private static async Task<(int Status, string Backend)> GetAsync(HttpClient client, CancellationToken cancellationToken, string path = "/")
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Host = "t.test";
        using var response = await client.SendAsync(request, cancellationToken);
        return ((int)response.StatusCode, response.Headers.TryGetValues("X-Backend", out var values) ? values.Single() : "");
    }

    private static HttpClient Client(LbTestHost lb) => new() { BaseAddress = new Uri($"http://{lb.EndPoint()}/"), Timeout = TimeSpan.FromSeconds(20) };

    private static HttpClient Admin(LbTestHost lb) => new() { BaseAddress = new Uri($"http://{lb.AdminEndPoint}/"), Timeout = TimeSpan.FromSeconds(10) };

    private static async Task<JsonElement> DnsOfPoolAsync(HttpClient admin, CancellationToken cancellationToken)
    {
        using var pools = JsonDocument.Parse(await admin.GetStringAsync("api/pools", cancellationToken));
        return pools.RootElement.GetProperty("pools")[0].GetProperty("dns")[0].Clone();
    }

    private static string[] Addresses(JsonElement dns) => [.. dns.GetProperty("addresses").EnumerateArray().Select(a => a.GetString()!)];

    private static long Resolutions(string metrics, string result)
    {
        var match = Regex.Match(metrics, $$"""lb_dns_resolutions_total\{pool="p",name="api.test",result="{{result}}"\} (\d+)""");
        return match.Success ? long.Parse(match.Groups[1].Value) : -1;
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task MinTtlAndMaxTtl_ClampTheRecordsTtl_TtlZeroAskedNoSoonerThanMinTtl_ADayNoLaterThanMaxTtl(CancellationToken cancellationToken)
    {
        await using var dns = DnsResponder.Start();
        dns.Set("short.test", 0, AddressA);
        dns.Set("long.test", 86_400, AddressB);
        var minTtl = TimeSpan.FromSeconds(1);
        var maxTtl = TimeSpan.FromSeconds(2);
        await using var lb = await LbTestHost.StartAsync(Config(dns, "{ address = \"short.test:9\" }, { address = \"long.test:9\" }", dnsExtra: "max_ttl = \"2s\""));

        // The day-long record's second resolution (its A and AAAA queries); by then the TTL-0 one has had several.
        await dns.WaitForQueriesAsync("long.test", 3, cancellationToken);
        var shortTimes = dns.ResolutionTimes("short.test");
        var longTimes = dns.ResolutionTimes("long.test");
        var shortGaps = shortTimes.Zip(shortTimes.Skip(1), (a, b) => b - a).ToArray();
        var longGap = longTimes[1] - longTimes[0];
        TestContext.Out.WriteLine($"short.test (TTL 0) asked again after {string.Join(", ", shortGaps.Select(g => g.TotalMilliseconds.ToString("F0", System.Globalization.CultureInfo.InvariantCulture) + " ms"))}; long.test (TTL 86400) after {longGap.TotalMilliseconds:F0} ms");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(shortGaps, Has.Length.GreaterThanOrEqualTo(1), "the TTL-0 name is asked again");
            Assert.That(shortGaps, Has.All.GreaterThanOrEqualTo(minTtl), "a TTL below min_ttl is re-resolved no sooner than min_ttl");

            // Not before max_ttl (that would be min_ttl's clamp), and not much after it (the slack is the loaded machine's):
            // with the record's own TTL it would be a day.
            Assert.That(longGap, Is.GreaterThanOrEqualTo(maxTtl));
            Assert.That(longGap, Is.LessThan(maxTtl + TimeSpan.FromSeconds(1.5)), "a TTL above max_ttl is re-resolved no later than max_ttl");
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Name_Resolves_ServesAndIsShownInPoolsAndMetrics(CancellationToken cancellationToken)
    {
        var (a, b) = StartPair();
        await using var _a = a;
        await using var _b = b;
        await using var dns = DnsResponder.Start();
        dns.Set("api.test", 30, AddressA);
        await using var lb = await LbTestHost.StartAsync(Config(dns, $"{{ address = \"api.test:{a.EndPoint.Port}\", weight = 3 }}"));
        using var client = Client(lb);
        using var admin = Admin(lb);

        var served = await GetAsync(client, cancellationToken);
        var pool = await DnsOfPoolAsync(admin, cancellationToken);
        using var pools = JsonDocument.Parse(await admin.GetStringAsync("api/pools", cancellationToken));
        var backend = pools.RootElement.GetProperty("pools")[0].GetProperty("backends").EnumerateArray().Single();
        var metrics = await admin.GetStringAsync("metrics", cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(served, Is.EqualTo((200, "a")));
            Assert.That(pool.GetProperty("address").GetString(), Is.EqualTo($"api.test:{a.EndPoint.Port}"));
            Assert.That(pool.GetProperty("name").GetString(), Is.EqualTo("api.test"));
            Assert.That(Addresses(pool), Is.EqualTo(new[] { "127.0.0.2" }));
            Assert.That(pool.GetProperty("ttl_seconds").GetInt64(), Is.EqualTo(30));
            Assert.That(pool.GetProperty("last_result").GetString(), Is.EqualTo("ok"));
            Assert.That(backend.GetProperty("address").GetString(), Is.EqualTo($"api.test:{a.EndPoint.Port}@127.0.0.2"));
            Assert.That(backend.GetProperty("host_name").GetString(), Is.EqualTo("api.test"));
            Assert.That(backend.GetProperty("weight").GetInt32(), Is.EqualTo(3), "each address shares the entry's weight");
            Assert.That(Resolutions(metrics, "ok"), Is.EqualTo(1), metrics);
            Assert.That(Resolutions(metrics, "nxdomain"), Is.Zero);
            Assert.That(Resolutions(metrics, "failed"), Is.Zero);
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task RecordChanges_UnderKeepAliveLoad_TrafficMovesWithinTtlPlusOneSecond_NoFailures_InFlightFinishes(CancellationToken cancellationToken)
    {
        var (a, b) = StartPair(holdPathOnA: "/slow");
        await using var _a = a;
        await using var _b = b;
        await using var dns = DnsResponder.Start();
        const int ttl = 1;
        dns.Set("api.test", ttl, AddressA);
        await using var lb = await LbTestHost.StartAsync(Config(dns, $"{{ address = \"api.test:{a.EndPoint.Port}\" }}"));
        using var slowClient = Client(lb);
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 4, UseProxy = false })
        {
            BaseAddress = new Uri($"http://{lb.EndPoint()}/"),
            Timeout = TimeSpan.FromSeconds(20),
        };

        // One request stays in flight on a across the change.
        var slow = GetAsync(slowClient, cancellationToken, "/slow");
        await a.WaitForRequestsAsync(1, cancellationToken);

        var clock = Stopwatch.StartNew();
        TimeSpan changed;
        var load = new SteadyLoad(client, "t.test", workers: 4, clock);
        try
        {
            while (!load.Outcomes.Any(o => o.Backend == "a"))
            {
                await Task.Delay(20, cancellationToken);
            }

            changed = clock.Elapsed;
            dns.Set("api.test", ttl, AddressB);

            // Bounded by the test's CancelAfter: the load runs until TTL + 1 s after the change and a little beyond.
            var settled = changed + TimeSpan.FromSeconds(ttl + 1);
            while (clock.Elapsed < settled + TimeSpan.FromMilliseconds(500))
            {
                await Task.Delay(50, cancellationToken);
            }
        }
        finally
        {
            await load.DisposeAsync();
        }

        Assert.That(slow.IsCompleted, Is.False, "the held request is still in flight on the old address");
        a.Release();
        var slowResult = await slow;
        var outcomes = load.Outcomes.ToArray();
        var lateOnA = outcomes.Where(o => o.Started > changed + TimeSpan.FromSeconds(ttl + 1) && o.Backend != "b").ToArray();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(outcomes.Where(o => o.Status != 200).Select(o => $"{o.Status} {o.Error}"), Is.Empty, "no failed request across the change");
            Assert.That(lateOnA.Select(o => $"{o.Started}: {o.Backend}"), Is.Empty, $"every request started after change + TTL + 1 s ({changed} + {ttl + 1}s) went to the new address");
            Assert.That(outcomes.Count(o => o.Backend == "b"), Is.GreaterThan(0));
            Assert.That(slowResult, Is.EqualTo((200, "a")), "the old backend's in-flight request finished");
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task NxDomain_KeepsLastGoodAnswerForHold_ThenThePoolLosesIt(CancellationToken cancellationToken)
    {
        var (a, b) = StartPair();
        await using var _a = a;
        await using var _b = b;
        await using var dns = DnsResponder.Start();
        dns.Set("api.test", 1, AddressA);
        await using var lb = await LbTestHost.StartAsync(Config(dns, $"{{ address = \"api.test:{a.EndPoint.Port}\" }}", dnsExtra: "hold = \"3s\""));
        using var client = Client(lb);
        using var admin = Admin(lb);
        Assert.That(await GetAsync(client, cancellationToken), Is.EqualTo((200, "a")));

        dns.SetNxDomain("api.test");
        var held = Stopwatch.StartNew();
        var queried = dns.Queries("api.test");
        await dns.WaitForQueriesAsync("api.test", queried + 2, cancellationToken); // a whole A + AAAA round answered NXDOMAIN
        while ((await DnsOfPoolAsync(admin, cancellationToken)).GetProperty("last_result").GetString() != "nxdomain")
        {
            await Task.Delay(20, cancellationToken);
        }

        var during = await GetAsync(client, cancellationToken);
        var heldDns = await DnsOfPoolAsync(admin, cancellationToken);
        var heldFor = held.Elapsed;
        var metrics = await admin.GetStringAsync("metrics", cancellationToken);

        // Once hold has run out with no good answer, the address leaves and the pool (with nothing else) answers 503.
        while (Addresses(await DnsOfPoolAsync(admin, cancellationToken)).Length > 0)
        {
            await Task.Delay(50, cancellationToken);
        }

        var dropped = held.Elapsed;
        var after = await GetAsync(client, cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(heldFor, Is.LessThan(TimeSpan.FromSeconds(3)), "the checks ran within hold");
            Assert.That(during, Is.EqualTo((200, "a")), "NXDOMAIN keeps the last good answer");
            Assert.That(Addresses(heldDns), Is.EqualTo(new[] { "127.0.0.2" }));
            Assert.That(Resolutions(metrics, "nxdomain"), Is.GreaterThanOrEqualTo(1), metrics);
            Assert.That(Resolutions(metrics, "ok"), Is.EqualTo(1), metrics);
            Assert.That(dropped, Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(2)), "kept for about hold (3 s from the first failure, which came up to 1 s after the change)");
            Assert.That(after.Status, Is.EqualTo(503));
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task UnresolvableAtStartup_LbStarts_PoolAnswers503_ThenServesOnceItResolves(CancellationToken cancellationToken)
    {
        var (a, b) = StartPair();
        await using var _a = a;
        await using var _b = b;
        await using var dns = DnsResponder.Start();
        dns.SetNxDomain("api.test");
        await using var lb = await LbTestHost.StartAsync(Config(dns, $"{{ address = \"api.test:{a.EndPoint.Port}\" }}"));
        using var client = Client(lb);
        using var admin = Admin(lb);

        var before = await GetAsync(client, cancellationToken);
        var unresolved = await DnsOfPoolAsync(admin, cancellationToken);

        dns.Set("api.test", 30, AddressA);
        (int Status, string Backend) later;
        while ((later = await GetAsync(client, cancellationToken)).Status != 200)
        {
            Assert.That(later.Status, Is.EqualTo(503));
            await Task.Delay(50, cancellationToken);
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(before.Status, Is.EqualTo(503));
            Assert.That(Addresses(unresolved), Is.Empty);
            Assert.That(unresolved.GetProperty("last_result").GetString(), Is.EqualTo("nxdomain"));
            Assert.That(later, Is.EqualTo((200, "a")));
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Reload_SameNameKeepsResolvedBackends_ChangedNameReResolves(CancellationToken cancellationToken)
    {
        var (a, b) = StartPair();
        await using var _a = a;
        await using var _b = b;
        await using var dns = DnsResponder.Start();
        dns.Set("api.test", 300, AddressA);
        dns.Set("other.test", 300, AddressB);
        var port = a.EndPoint.Port;
        await using var lb = await LbTestHost.StartAsync(Config(dns, $"{{ address = \"api.test:{port}\" }}"));
        using var client = Client(lb);
        Assert.That(await GetAsync(client, cancellationToken), Is.EqualTo((200, "a")));
        var resolved = lb.Engine.Snapshots.Current.Pools["p"].Backends.Single();
        var queries = dns.Queries("api.test");

        // Same name, another setting changed: the resolved backend is the same live state, serving at once, not asked again.
        dns.SetSilent("api.test");
        await lb.WriteConfigAsync(Config(dns, $"{{ address = \"api.test:{port}\" }}", poolExtra: "timeouts = { connect = \"3s\" }"));
        var same = await lb.Reloader.ReloadAsync("test");
        var kept = lb.Engine.Snapshots.Current.Pools["p"].Backends;
        var afterSame = await GetAsync(client, cancellationToken);

        await lb.WriteConfigAsync(Config(dns, $"{{ address = \"other.test:{port}\" }}"));
        var changed = await lb.Reloader.ReloadAsync("test");
        (int Status, string Backend) served;
        while ((served = await GetAsync(client, cancellationToken)).Backend != "b")
        {
            await Task.Delay(20, cancellationToken);
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(same.Outcome, Is.EqualTo(LoadBalancer.Host.ReloadOutcome.Applied), same.ToString());
            Assert.That(kept, Is.EqualTo(new[] { resolved }), "the same BackendState serves after the reload");
            Assert.That(afterSame, Is.EqualTo((200, "a")));
            Assert.That(dns.Queries("api.test"), Is.EqualTo(queries), "an unchanged name is not re-resolved by a reload");
            Assert.That(changed.Outcome, Is.EqualTo(LoadBalancer.Host.ReloadOutcome.Applied), changed.ToString());
            Assert.That(served, Is.EqualTo((200, "b")));
            Assert.That(resolved.IsRetired, Is.True, "the old name's backend left with it");
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task TwoAddresses_BothServe_AndAnAddedOneEntersUnderSlowStart(CancellationToken cancellationToken)
    {
        var (a, b) = StartPair();
        await using var _a = a;
        await using var _b = b;
        await using var dns = DnsResponder.Start();
        dns.Set("api.test", 1, AddressA);
        await using var lb = await LbTestHost.StartAsync(Config(dns, $"{{ address = \"api.test:{a.EndPoint.Port}\" }}", poolExtra: "slow_start = \"30s\""));
        using var client = Client(lb);
        Assert.That(await GetAsync(client, cancellationToken), Is.EqualTo((200, "a")));

        dns.Set("api.test", 1, AddressA, AddressB);
        var pool = lb.Engine.Snapshots.Current.Pools["p"];
        while (pool.Backends.Length < 2)
        {
            await Task.Delay(20, cancellationToken);
        }

        var added = pool.Backends.Single(x => x.Config.EndPoint.Address.Equals(AddressB));
        var seen = new HashSet<string>();
        for (var i = 0; i < 400 && seen.Count < 2; i++)
        {
            seen.Add((await GetAsync(client, cancellationToken)).Backend);
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(added.HealthStatus, Is.EqualTo("ramping"), "a new address enters under slow_start");
            Assert.That(pool.Backends.Single(x => x.Config.EndPoint.Address.Equals(AddressA)).HealthStatus, Is.EqualTo("up"));
            Assert.That(seen, Is.EquivalentTo(new[] { "a", "b" }));
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Check_NameThatDoesNotResolve_WarnsWithPositionAndPasses(CancellationToken cancellationToken)
    {
        await using var dns = DnsResponder.Start();
        dns.SetNxDomain("api.test");
        dns.Set("ok.test", 30, AddressA);
        var directory = Directory.CreateTempSubdirectory("lb-dns-check-").FullName;
        var path = Path.Combine(directory, "lb.toml");
        await File.WriteAllTextAsync(path, Config(dns, "{ address = \"api.test:8443\" }, { address = \"ok.test:8443\" }"), cancellationToken);

        var (exitCode, lines) = await LbProcess.RunToExitAsync(cancellationToken, "check", "--config", path);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(exitCode, Is.Zero, string.Join("\n", lines));
            Assert.That(lines, Has.Some.StartsWith($"{path}:20:25: warning: pools[0].backends[0].address: \"api.test:8443\" does not resolve now (nxdomain"));
            Assert.That(lines, Has.None.Contains("ok.test"), "a name that resolves gets no warning");
            Assert.That(lines, Has.Some.StartsWith($"{path}: OK: 1 listener, 1 tenant, 1 pool, 2 backends"));
        }

        Directory.Delete(directory, recursive: true);
    }
}
