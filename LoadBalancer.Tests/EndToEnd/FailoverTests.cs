using System.Diagnostics;
using System.Net;
using System.Text;
using LoadBalancer.Core.Admin;
using LoadBalancer.Core.Demo;
using LoadBalancer.Core.Routing;
using LoadBalancer.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>
/// Backends fail, tenants must not notice: retries, passive ejection, active checks, slow start, response timeouts,
/// retry budget and the drain API, end to end over loopback with short intervals. Waits are on conditions with
/// bounds, never fixed sleeps; the measured figures are written to the test output.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
[NonParallelizable]
public sealed class FailoverTests
{
    private const string Host = "app.example.com";

    private static string Config(string backends, string poolKeys) => $$"""
        [[listeners]]
        name = "web"
        listen = "127.0.0.1:0"

        [[tenants]]
        name = "app"
        match = ["{{Host}}"]
        pool = "p"

        [[pools]]
        name = "p"
        balancer = "round-robin"
        backends = [ {{backends}} ]
        {{poolKeys}}
        """;

    private static string Entries(params string[] addresses) => string.Join(", ", addresses.Select(a => $"{{ address = \"{a}\" }}"));

    /// <summary>Polls <paramref name="condition"/> every 2 ms; returns the time it took, fails after <paramref name="limit"/>.</summary>
    private static async Task<TimeSpan> WaitUntilAsync(Func<bool> condition, TimeSpan limit, string what, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.Elapsed > limit)
            {
                Assert.Fail($"{what}: not within {limit.TotalMilliseconds} ms");
            }

            await Task.Delay(2, cancellationToken);
        }

        return watch.Elapsed;
    }

    private static async Task<(int Status, string Backend)> GetAsync(HttpClient client, CancellationToken cancellationToken, string path = "/")
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Host = Host;
        using var response = await client.SendAsync(request, cancellationToken);
        var backend = response.Headers.TryGetValues("X-Backend", out var values) ? values.Single() : "";
        return ((int)response.StatusCode, backend);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task KillOneOfThreeUnderLoad_NoFailedRequests_EjectedThenReadmittedWithSlowStart(CancellationToken cancellationToken)
    {
        var servers = new Dictionary<string, WhoamiServer>
        {
            ["a"] = WhoamiServer.Start(new IPEndPoint(IPAddress.Loopback, 0), "a"),
            ["b"] = WhoamiServer.Start(new IPEndPoint(IPAddress.Loopback, 0), "b"),
            ["c"] = WhoamiServer.Start(new IPEndPoint(IPAddress.Loopback, 0), "c"),
        };
        var port = servers["b"].EndPoint.Port;
        const int Fall = 3;
        const int Rise = 2;
        var interval = TimeSpan.FromMilliseconds(100);
        await using var lb = await TestLb.StartAsync(Config(
            Entries([.. servers.Values.Select(s => $"127.0.0.1:{s.EndPoint.Port}")]),
            $$"""
            health = { type = "http", path = "/healthz", expect = "200-399", interval = "100ms", timeout = "100ms", rise = {{Rise}}, fall = {{Fall}} }
            retries = { attempts = 2, budget = 0.2 }
            outlier = { consecutive_failures = 3, base_ejection = "500ms", max_ejected_share = 0.5 }
            slow_start = "2s"
            timeouts = { connect = "500ms", response_head = "5s" }
            """));
        var b = lb.Snapshot.Pools["p"].Backends[1];
        try
        {
            using var client = lb.CreateClient(maxConnections: 8);
            var clock = Stopwatch.StartNew();
            SteadyLoad.Outcome[] outcomes;
            TimeSpan killedAt, ejectedAfter, downAfter, revivedAt, upAfter, trafficAfter;
            await using (var load = new SteadyLoad(client, Host, workers: 6, clock))
            {
                await WaitUntilAsync(() => load.Outcomes.Count(o => o.Backend == "b") >= 50, TimeSpan.FromSeconds(5), "b serves", cancellationToken);

                killedAt = clock.Elapsed;
                await servers["b"].DisposeAsync();
                servers.Remove("b");
                ejectedAfter = await WaitUntilAsync(() => b.IsEjected || b.IsDown, TimeSpan.FromSeconds(1), "passive ejection", cancellationToken);
                downAfter = await WaitUntilAsync(() => b.IsDown, TimeSpan.FromSeconds(3), "active checks mark b down", cancellationToken);
                var failedChecks = TimeSpan.FromTicks(interval.Ticks * Fall);

                // Each check waits interval +-10% after the previous; the first failing one may start up to 1.1 intervals
                // after the kill, and scheduling on 2 shared cores adds some slack.
                Assert.That(downAfter, Is.LessThan(failedChecks + interval + TimeSpan.FromMilliseconds(400)), "fall * interval");

                // Let the load run against two backends for a while, then bring b back on the same port.
                await Task.Delay(300, cancellationToken);
                revivedAt = clock.Elapsed;
                servers["b"] = WhoamiServer.Start(new IPEndPoint(IPAddress.Loopback, port), "b");
                upAfter = await WaitUntilAsync(() => !b.IsDown, TimeSpan.FromSeconds(3), "rise checks bring b up", cancellationToken);
                trafficAfter = await WaitUntilAsync(() => load.Outcomes.Any(o => o.Backend == "b" && o.Started > revivedAt), TimeSpan.FromSeconds(3), "b gets traffic", cancellationToken);

                // Watch the ramp: 2 s of slow start, then a bit at full weight.
                var rampStart = clock.Elapsed;
                await WaitUntilAsync(() => clock.Elapsed > rampStart + TimeSpan.FromSeconds(2.5), TimeSpan.FromSeconds(4), "ramp", cancellationToken);
                outcomes = [.. load.Outcomes];
                var windows = Enumerable.Range(0, 5).Select(w =>
                {
                    var from = rampStart + TimeSpan.FromMilliseconds(500 * w);
                    var inWindow = outcomes.Where(o => o.Started >= from && o.Started < from + TimeSpan.FromMilliseconds(500)).ToList();
                    return (Count: inWindow.Count, Share: inWindow.Count(o => o.Backend == "b") / (double)Math.Max(1, inWindow.Count));
                }).ToList();
                TestContext.Out.WriteLine($"b's share per 500 ms window after it came back: {string.Join(", ", windows.Select(w => $"{w.Share:P0} of {w.Count}"))}");
                Assert.That(windows[0].Share, Is.LessThan(0.25), "slow start: little traffic at first");
                Assert.That(windows[^1].Share, Is.EqualTo(1 / 3.0).Within(0.1), "full share after slow_start");
                Assert.That(windows[0].Share, Is.LessThan(windows[^1].Share), "the share grows");
            }

            var failures = outcomes.Where(o => o.Status != 200).ToList();
            var summary = $"requests {outcomes.Length}, failed {failures.Count}, ejected (passive) {ejectedAfter.TotalMilliseconds:F0} ms after the kill, " +
                $"down (active, fall={Fall} x {interval.TotalMilliseconds} ms) after {downAfter.TotalMilliseconds:F0} ms, " +
                $"up (rise={Rise}) {upAfter.TotalMilliseconds:F0} ms after the revival, first request to it {trafficAfter.TotalMilliseconds:F0} ms after that; " +
                $"retries {lb.Snapshot.Pools["p"].RetryBudget.RetriesTotal}, denied {lb.Snapshot.Pools["p"].RetryBudget.RetriesDenied}";
            TestContext.Out.WriteLine(summary);
            Assert.That(failures, Is.Empty, () => summary + "\n" + string.Join("\n", failures.Take(10)));
            Assert.That(ejectedAfter, Is.LessThan(TimeSpan.FromSeconds(1)));
        }
        finally
        {
            foreach (var server in servers.Values)
            {
                await server.DisposeAsync();
            }
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task BackendThatNeverAnswers_504AfterResponseHeadTimeout_OthersKeepServing(CancellationToken cancellationToken)
    {
        await using var backends = TestBackends.Start("a", "b");
        await using var silent = new SilentBackend();

        // One loop: round-robin walks its order per loop, and "every third request" is one loop's order.
        await using var lb = await TestLb.StartAsync(
            Config(
                Entries(backends.Address("a"), backends.Address("b"), silent.Address),
                """
                outlier = { consecutive_failures = 2, base_ejection = "10s" }
                timeouts = { response_head = "300ms" }
                """),
            loops: 1);
        using var client = lb.CreateClient(maxConnections: 16);

        var batch = await Task.WhenAll(Enumerable.Range(0, 9).Select(async _ =>
        {
            var watch = Stopwatch.StartNew();
            var (status, backend) = await GetAsync(client, cancellationToken);
            return (Status: status, Backend: backend, Elapsed: watch.Elapsed);
        }));

        var timedOut = batch.Where(r => r.Status == 504).ToList();
        var served = batch.Where(r => r.Status == 200).ToList();
        TestContext.Out.WriteLine($"504s: {string.Join(", ", timedOut.Select(r => $"{r.Elapsed.TotalMilliseconds:F0} ms"))}; 200s within {served.Max(r => r.Elapsed).TotalMilliseconds:F0} ms");
        Assert.That(timedOut, Has.Count.EqualTo(3), "every third request went to the silent backend");
        Assert.That(served, Has.Count.EqualTo(6));
        Assert.That(timedOut.Min(r => r.Elapsed), Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(290)));
        Assert.That(timedOut.Max(r => r.Elapsed), Is.LessThan(TimeSpan.FromSeconds(2)));
        Assert.That(served.Max(r => r.Elapsed), Is.LessThan(timedOut.Min(r => r.Elapsed)), "the others answered while the silent one hung");

        // Two timeouts in a row ejected it (outlier on timeouts): from now on nobody waits for it.
        Assert.That(lb.Snapshot.Pools["p"].Backends[2].IsEjected, Is.True);
        for (var i = 0; i < 12; i++)
        {
            Assert.That((await GetAsync(client, cancellationToken)).Status, Is.EqualTo(200));
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task BackendReturning500s_Ejected_ThenReadmittedAfterTheEjection(CancellationToken cancellationToken)
    {
        var failing = true;
        await using var backends = TestBackends.Start("a", "b");
        await using var flaky = RecordingBackend.Start(_ => Volatile.Read(ref failing)
            ? Encoding.ASCII.GetBytes("HTTP/1.1 500 Internal Server Error\r\nX-Backend: flaky\r\nContent-Length: 4\r\n\r\nfail")
            : RecordingBackend.Ok("ok", "X-Backend: flaky\r\n"));
        await using var lb = await TestLb.StartAsync(Config(
            Entries(backends.Address("a"), backends.Address("b"), flaky.Address),
            """outlier = { consecutive_failures = 3, base_ejection = "1s", max_ejected_share = 0.5 }"""));
        var state = lb.Snapshot.Pools["p"].Backends[2];
        using var client = lb.CreateClient();

        var errors = 0;
        for (var i = 0; i < 9; i++)
        {
            if ((await GetAsync(client, cancellationToken)).Status == 500)
            {
                errors++;
            }
        }

        var ejectedAt = Stopwatch.StartNew();
        Assert.That(errors, Is.EqualTo(3), "three 500s in a row from the flaky backend");
        Assert.That(state.IsEjected, Is.True);
        var seen = flaky.Requests.Count;
        for (var i = 0; i < 20; i++)
        {
            var (status, backend) = await GetAsync(client, cancellationToken);
            Assert.That((status, backend), Is.AnyOf((200, "a"), (200, "b")));
        }

        Assert.That(flaky.Requests, Has.Count.EqualTo(seen), "no request reached the ejected backend");

        // The backend recovers; once the ejection runs out it is picked again and serves.
        Volatile.Write(ref failing, false);
        var readmitted = await WaitUntilAsync(() => state.IsAvailable, TimeSpan.FromSeconds(3), "ejection ends", cancellationToken);
        var flakyServed = false;
        for (var i = 0; i < 12 && !flakyServed; i++)
        {
            var (status, backend) = await GetAsync(client, cancellationToken);
            Assert.That(status, Is.EqualTo(200));
            flakyServed = backend == "flaky";
        }

        TestContext.Out.WriteLine($"ejected after 3 consecutive 500s; re-admitted {ejectedAt.Elapsed.TotalMilliseconds:F0} ms later (base_ejection 1 s, waited {readmitted.TotalMilliseconds:F0} ms)");
        Assert.That(flakyServed, Is.True, "the re-admitted backend serves again");
        Assert.That(ejectedAt.Elapsed, Is.GreaterThan(TimeSpan.FromMilliseconds(900)));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task FullOutage_RetryBudgetCapsRetries(CancellationToken cancellationToken)
    {
        await using var lb = await TestLb.StartAsync(Config(
            Entries(TestBackends.DeadAddress(), TestBackends.DeadAddress(), TestBackends.DeadAddress()),
            """
            retries = { attempts = 2, budget = 0.2 }
            outlier = { consecutive_failures = 0 }
            """));
        using var client = lb.CreateClient();
        const int Requests = 200;
        for (var i = 0; i < Requests; i++)
        {
            Assert.That((await GetAsync(client, cancellationToken)).Status, Is.EqualTo(502));
        }

        var budget = lb.Snapshot.Pools["p"].RetryBudget;
        TestContext.Out.WriteLine($"{Requests} requests in a full outage: {budget.RetriesTotal} retries granted, {budget.RetriesDenied} denied (without a budget: {2 * Requests})");
        Assert.That(budget.RetriesTotal, Is.LessThanOrEqualTo((0.2 * Requests) + Core.Health.RetryBudget.MinRetries));
        Assert.That(budget.RetriesDenied, Is.GreaterThan(Requests / 2));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task DeadBackendWithDefaults_RetriedThenEjected_NoFailedRequest(CancellationToken cancellationToken)
    {
        // No health, retries or outlier keys: the defaults (2 retries, budget 0.2, ejection after 5 failures) apply.
        await using var backends = TestBackends.Start("a");
        await using var lb = await TestLb.StartAsync(Config(Entries(TestBackends.DeadAddress(), backends.Address("a")), ""));
        using var client = lb.CreateClient();
        for (var i = 0; i < 50; i++)
        {
            Assert.That(await GetAsync(client, cancellationToken), Is.EqualTo((200, "a")), $"request {i}");
        }

        var dead = lb.Snapshot.Pools["p"].Backends[0];
        Assert.That(dead.IsEjected, Is.True);
        Assert.That(lb.Snapshot.Pools["p"].RetryBudget.RetriesTotal, Is.EqualTo(5), "one retry per failure until the ejection");
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task PostToDeadBackend_ConnectFailureRetried_ButResetAfterSendIsNot(CancellationToken cancellationToken)
    {
        // A connect failure delivered nothing, so even a POST goes to the next backend.
        await using var backends = TestBackends.Start("a");
        await using var lb = await TestLb.StartAsync(Config(
            Entries(TestBackends.DeadAddress(), backends.Address("a")),
            """outlier = { consecutive_failures = 0 }"""));
        using var client = lb.CreateClient();
        for (var i = 0; i < 6; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/") { Content = new StringContent("hello") };
            request.Headers.Host = Host;
            using var response = await client.SendAsync(request, cancellationToken);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task ResetBeforeAnswer_IdempotentRetried_PostGets502(CancellationToken cancellationToken)
    {
        // "closer" reads the request and closes without a byte of answer.
        await using var closer = RecordingBackend.Start(_ => [], answerBeforeBody: true);
        await using var backends = TestBackends.Start("a");
        await using var lb = await TestLb.StartAsync(Config(
            Entries(closer.Address, backends.Address("a")),
            """outlier = { consecutive_failures = 0 }"""));
        using var client = lb.CreateClient();
        for (var i = 0; i < 4; i++)
        {
            Assert.That(await GetAsync(client, cancellationToken), Is.EqualTo((200, "a")), "GET is retried on a");
        }

        Assert.That(closer.Requests, Is.Not.Empty, "the closer did get GETs");
        var posts = new List<int>();
        for (var i = 0; i < 4; i++)
        {
            await using var connection = await lb.ConnectAsync(cancellationToken);
            await connection.SendAsync($"POST / HTTP/1.1\r\nHost: {Host}\r\nContent-Length: 0\r\n\r\n", cancellationToken);
            posts.Add((await connection.ReadResponseAsync(cancellationToken))!.Status);
        }

        Assert.That(posts, Does.Contain(502), "a POST reset by the backend is not replayed");
        Assert.That(posts.Where(s => s != 502), Is.All.EqualTo(200));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Drain_InFlightFinishes_NoNewRequests_EnableRestores(CancellationToken cancellationToken)
    {
        using var gate = new ManualResetEventSlim(false);
        await using var slow = RecordingBackend.Start(request =>
        {
            if (request.RequestLine.Contains("/slow", StringComparison.Ordinal))
            {
                gate.Wait(TimeSpan.FromSeconds(15));
            }

            return RecordingBackend.Ok("slow", "X-Backend: r\r\n");
        });
        await using var backends = TestBackends.Start("w");
        await using var lb = await TestLb.StartAsync(Config(Entries(slow.Address, backends.Address("w")), ""));
        await using var admin = AdminServer.Start(
            new IPEndPoint(IPAddress.Loopback, 0),
            (request, _) => ValueTask.FromResult(BackendAdminEndpoints.TryHandle(request, lb.Snapshot) ?? AdminResponse.Text(404, "not found\n")),
            token: null,
            NullLogger.Instance);
        using var adminClient = new HttpClient { BaseAddress = new Uri($"http://{admin.EndPoint}/") };
        using var client = lb.CreateClient();
        using var slowClient = lb.CreateClient();
        var r = lb.Snapshot.Pools["p"].Backends[0];

        try
        {
            // Get one request in flight on r (round-robin: one of the first two tries lands there). One wait for the
            // arrival, made once: a wait left over from a try that went to w would take the arrival's one signal.
            Task<(int Status, string Backend)>? inFlight = null;
            var arrived = slow.WaitForRequestsAsync(1, cancellationToken);
            for (var i = 0; i < 4 && slow.Requests.Count == 0; i++)
            {
                inFlight = GetAsync(slowClient, cancellationToken, "/slow");
                await Task.WhenAny(inFlight, arrived);
            }

            Assert.That(slow.Requests, Has.Count.EqualTo(1));
            Assert.That(r.InFlight, Is.EqualTo(1));

            using (var drained = await adminClient.PostAsync($"api/pools/p/backends/{slow.Address}/drain", null, cancellationToken))
            {
                Assert.That(drained.StatusCode, Is.EqualTo(HttpStatusCode.OK));
                Assert.That(await drained.Content.ReadAsStringAsync(cancellationToken), Does.Contain("\"status\": \"drained\""));
            }

            for (var i = 0; i < 20; i++)
            {
                Assert.That(await GetAsync(client, cancellationToken), Is.EqualTo((200, "w")));
            }

            Assert.That(slow.Requests, Has.Count.EqualTo(1), "a drained backend gets no new request");
            Assert.That(inFlight!.IsCompleted, Is.False);
            gate.Set();
            Assert.That(await inFlight, Is.EqualTo((200, "r")), "the in-flight request finished on the drained backend");

            using (var pools = await adminClient.GetAsync("api/pools", cancellationToken))
            {
                Assert.That(await pools.Content.ReadAsStringAsync(cancellationToken), Does.Contain("\"drained\": true"));
            }

            using (var enabled = await adminClient.PostAsync($"api/pools/p/backends/{Uri.EscapeDataString(slow.Address)}/enable", null, cancellationToken))
            {
                Assert.That(enabled.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            }

            var seen = new HashSet<string>();
            for (var i = 0; i < 10; i++)
            {
                seen.Add((await GetAsync(client, cancellationToken)).Backend);
            }

            Assert.That(seen, Is.EquivalentTo(new[] { "r", "w" }));

            using var unknown = await adminClient.PostAsync("api/pools/p/backends/127.0.0.1:1/drain", null, cancellationToken);
            Assert.That(unknown.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            using var wrongMethod = await adminClient.GetAsync($"api/pools/p/backends/{slow.Address}/drain", cancellationToken);
            Assert.That(wrongMethod.StatusCode, Is.EqualTo(HttpStatusCode.MethodNotAllowed));
        }
        finally
        {
            gate.Set();
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Reload_KeepsHealthOfBackendsThatStay_RemovingHealthBringsThemBack(CancellationToken cancellationToken)
    {
        await using var backends = TestBackends.Start("a");
        var dead = TestBackends.DeadAddress();
        var health = """health = { type = "tcp", interval = "50ms", timeout = "50ms", rise = 2, fall = 2 }""";
        await using var lb = await TestLb.StartAsync(Config(Entries(dead, backends.Address("a")), health));
        var state = lb.Snapshot.Pools["p"].Backends[0];
        await WaitUntilAsync(() => state.IsDown, TimeSpan.FromSeconds(3), "tcp checks mark the dead backend down", cancellationToken);

        // Same pool and addresses, another retry setting: the state object and its verdict carry over.
        var reloaded = Core.Config.ConfigLoader.LoadText(Config(Entries(dead, backends.Address("a")), health + "\nretries = { attempts = 1 }"), "test.toml", lb.Snapshot);
        await lb.Engine.ApplyAsync(reloaded.Snapshot!);
        Assert.That(lb.Snapshot.Pools["p"].Backends[0], Is.SameAs(state));
        Assert.That(state.IsDown, Is.True, "still down right after the reload");
        Assert.That(lb.Engine.Health.Count, Is.EqualTo(2));

        // Without health the last verdict must not stick forever.
        await lb.Engine.ApplyAsync(Core.Config.ConfigLoader.LoadText(Config(Entries(dead, backends.Address("a")), ""), "test.toml", lb.Snapshot).Snapshot!);
        Assert.That((state.IsDown, lb.Engine.Health.Count), Is.EqualTo((false, 0)));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task AllDown_FailAnswers503_TryAllStillServes(CancellationToken cancellationToken)
    {
        await using var backends = TestBackends.Start("a", "b");
        foreach (var (policy, expected) in new[] { ("fail", 503), ("try-all", 200) })
        {
            await using var lb = await TestLb.StartAsync(Config(Entries(backends.Address("a"), backends.Address("b")), $$"""health = { all_down = "{{policy}}" }"""));
            foreach (var backend in lb.Snapshot.Pools["p"].Backends)
            {
                backend.IsAvailable = false;
            }

            using var client = lb.CreateClient();
            for (var i = 0; i < 4; i++)
            {
                Assert.That((await GetAsync(client, cancellationToken)).Status, Is.EqualTo(expected), policy);
            }

            // Drained backends stay out even in panic mode.
            foreach (var backend in lb.Snapshot.Pools["p"].Backends)
            {
                backend.Drain();
            }

            Assert.That((await GetAsync(client, cancellationToken)).Status, Is.EqualTo(503), policy + ", all drained");
        }
    }
}
