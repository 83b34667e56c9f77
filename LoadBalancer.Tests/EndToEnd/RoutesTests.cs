using System.Text;
using System.Text.Json;
using LoadBalancer.Core.Metrics;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>
/// Routes inside a tenant, end to end (issue 13): two routes of one tenant to two pools, with path rewrites and header
/// transforms checked byte for byte at the backends, response transforms at the client, 404 without a fallback, the
/// route's own limits, and the route in the access log and the metrics.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class RoutesTests
{
    private static string Config(string llm, string storage, string tenantExtra = "", string root = "") => $$"""
        {{root}}
        [[listeners]]
        name = "web"
        listen = "127.0.0.1:0"
        http2 = true

        [[tenants]]
        name = "acme"
        match = ["acme.example.com"]
        request_headers = { set = { "X-Tenant" = "acme" }, remove = ["X-Debug"] }
        response_headers = { remove = ["Server"] }
        {{tenantExtra}}

        [[tenants.routes]]
        name = "chat"
        path_prefix = "/v1/chat"
        methods = ["POST"]
        pool = "llm"
        strip_prefix = "/v1"
        request_headers = { set = { "X-Route" = "chat" }, add = { "X-Model" = "small" } }
        response_headers = { set = { "X-Served-By" = "chat" } }

        [[tenants.routes]]
        name = "files"
        path_prefix = "/v1/files"
        pool = "storage"
        rewrite_prefix = "/bucket"
        host = "storage.internal"
        rate_limit = { requests_per_second = 1, burst = 2 }

        [[pools]]
        name = "llm"
        backends = [ { address = "{{llm}}" } ]

        [[pools]]
        name = "storage"
        backends = [ { address = "{{storage}}" } ]
        """;

    private static byte[] Answer(RecordedRequest request)
        => RecordingBackend.Ok("ok", "Server: backend/1.0\r\nX-Keep: 1\r\nX-Served-By: backend\r\n");

    [Test]
    [CancelAfter(20_000)]
    public async Task TwoRoutesToTwoPools_PathAndHeaderTransforms_ExactAtTheBackends(CancellationToken cancellationToken)
    {
        await using var llm = RecordingBackend.Start(Answer);
        await using var storage = RecordingBackend.Start(Answer);
        await using var lb = await TestLb.StartAsync(Config(llm.Address, storage.Address));
        await using var connection = await lb.ConnectAsync(cancellationToken);

        await connection.SendAsync("POST /v1/chat/completions?stream=1 HTTP/1.1\r\nHost: acme.example.com\r\nX-Debug: yes\r\nX-Route: forged\r\nContent-Length: 2\r\n\r\nhi", cancellationToken);
        var chat = await connection.ReadResponseAsync(cancellationToken);
        await connection.SendAsync("GET /v1/files/a/b.txt HTTP/1.1\r\nHost: acme.example.com\r\nAccept: */*\r\n\r\n", cancellationToken);
        var file = await connection.ReadResponseAsync(cancellationToken);

        Assert.That((chat!.Status, file!.Status), Is.EqualTo((200, 200)));
        await llm.WaitForRequestsAsync(1, cancellationToken);
        await storage.WaitForRequestsAsync(1, cancellationToken);
        Assert.That(llm.Requests.Single().Head, Is.EqualTo(
            "POST /chat/completions?stream=1 HTTP/1.1\r\n"
            + "Host: acme.example.com\r\n"
            + "Content-Length: 2\r\n"
            + "X-Tenant: acme\r\n"
            + "X-Route: chat\r\n"
            + "X-Model: small\r\n"
            + "X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: acme.example.com\r\n\r\n"));
        Assert.That(Encoding.ASCII.GetString(llm.Requests.Single().BodyBytes), Is.EqualTo("hi"));
        Assert.That(storage.Requests.Single().Head, Is.EqualTo(
            "GET /bucket/a/b.txt HTTP/1.1\r\n"
            + "Host: storage.internal\r\n"
            + "Accept: */*\r\n"
            + "X-Tenant: acme\r\n"
            + "X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: acme.example.com\r\n\r\n"));

        // Response transforms at the client: the route's set replaces the backend's field, the tenant's removal applies
        // to every route, other fields pass.
        Assert.That((chat.Header("X-Served-By"), chat.Header("Server"), chat.Header("X-Keep")), Is.EqualTo(("chat", (string?)null, "1")));
        Assert.That((file.Header("X-Served-By"), file.Header("Server"), file.Header("X-Keep")), Is.EqualTo(("backend", (string?)null, "1")));

        var routes = lb.Snapshot.Tenants["acme"].Routes.Routes;
        await Eventually.UntilAsync(() => routes[0].Usage!.Requests(2) + routes[1].Usage!.Requests(2) == 2, cancellationToken);
        Assert.That(routes.Select(r => r.Usage!.Requests(2)), Is.EqualTo(new long[] { 1, 1 }));
        var metrics = PrometheusWriter.Write(lb.Snapshot);
        Assert.That(metrics, Does.Contain("lb_route_requests_total{tenant=\"acme\",route=\"chat\",code=\"2xx\"} 1\n"));
        Assert.That(metrics, Does.Contain("lb_route_requests_total{tenant=\"acme\",route=\"files\",code=\"2xx\"} 1\n"));
        Assert.That(metrics, Does.Contain("lb_requests_total{tenant=\"acme\",code=\"2xx\"} 2\n"), "the per-tenant family is unchanged");
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task NoRouteWithoutFallback_404FromLb_ConnectionStaysOpen(CancellationToken cancellationToken)
    {
        await using var llm = RecordingBackend.Start(Answer);
        await using var storage = RecordingBackend.Start(Answer);
        await using var lb = await TestLb.StartAsync(Config(llm.Address, storage.Address));
        await using var connection = await lb.ConnectAsync(cancellationToken);

        // GET is not a method of the chat route, and /v2 is no route at all.
        await connection.SendAsync("GET /v1/chat/completions HTTP/1.1\r\nHost: acme.example.com\r\nAccept: application/json\r\n\r\n", cancellationToken);
        var wrongMethod = await connection.ReadResponseAsync(cancellationToken);
        await connection.SendAsync("GET /v2/x HTTP/1.1\r\nHost: acme.example.com\r\n\r\n", cancellationToken);
        var unknown = await connection.ReadResponseAsync(cancellationToken);
        await connection.SendAsync("GET /v1/files/x HTTP/1.1\r\nHost: acme.example.com\r\n\r\n", cancellationToken);
        var after = await connection.ReadResponseAsync(cancellationToken);

        Assert.That((wrongMethod!.Status, unknown!.Status, after!.Status), Is.EqualTo((404, 404, 200)), "a 404 keeps the connection for the next request");
        Assert.That(JsonDocument.Parse(wrongMethod.Body).RootElement.GetProperty("error").GetString(), Is.EqualTo("no_route"));
        Assert.That(unknown.BodyText, Does.StartWith("404 Not Found: no route of the tenant matches this request"));
        Assert.That(llm.Requests, Is.Empty);
        var state = lb.Snapshot.Tenants["acme"].State;
        Assert.That((state.Requests(4), state.Refused((int)Core.Tenancy.RefusalReason.NoRoute)), Is.EqualTo((2L, 2L)));
        Assert.That(PrometheusWriter.Write(lb.Snapshot), Does.Contain("lb_refused_total{tenant=\"acme\",reason=\"no_route\"} 2\n"));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task TenantPool_IsTheFallback_WithTheTenantsTransformsOnly(CancellationToken cancellationToken)
    {
        await using var llm = RecordingBackend.Start(Answer);
        await using var storage = RecordingBackend.Start(Answer);
        await using var fallback = RecordingBackend.Start(Answer);
        await using var lb = await TestLb.StartAsync(Config(llm.Address, storage.Address, "pool = \"rest\"", root: "")
            + $"\n[[pools]]\nname = \"rest\"\nbackends = [ {{ address = \"{fallback.Address}\" }} ]\n");
        await using var connection = await lb.ConnectAsync(cancellationToken);

        await connection.SendAsync("GET /v2/x HTTP/1.1\r\nHost: acme.example.com\r\nX-Debug: 1\r\n\r\n", cancellationToken);
        var response = await connection.ReadResponseAsync(cancellationToken);

        Assert.That(response!.Status, Is.EqualTo(200));
        Assert.That(response.Header("Server"), Is.Null);
        await fallback.WaitForRequestsAsync(1, cancellationToken);
        Assert.That(fallback.Requests.Single().Head, Is.EqualTo(
            "GET /v2/x HTTP/1.1\r\nHost: acme.example.com\r\nX-Tenant: acme\r\n"
            + "X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: acme.example.com\r\n\r\n"));
        Assert.That(lb.Snapshot.Tenants["acme"].Routes.Routes.Sum(r => r.Usage!.TotalRequests), Is.Zero, "no route served it");
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task RouteRateLimit_ReplacesTheTenants_AndTheAccessLogNamesTheRoute(CancellationToken cancellationToken)
    {
        var directory = Directory.CreateTempSubdirectory("lb-routes-");
        try
        {
            await using var llm = RecordingBackend.Start(Answer);
            await using var storage = RecordingBackend.Start(Answer);
            var lb = await TestLb.StartAsync(
                Config(llm.Address, storage.Address, "rate_limit = { requests_per_second = 1000 }", root: "[access_log]\npath = \"access.log\"\n"),
                Path.Combine(directory.FullName, "lb.toml"));
            var statuses = new List<int>();
            await using (lb)
            {
                await using var connection = await lb.ConnectAsync(cancellationToken);
                for (var i = 0; i < 4; i++)
                {
                    await connection.SendAsync("GET /v1/files/x HTTP/1.1\r\nHost: acme.example.com\r\n\r\n", cancellationToken);
                    statuses.Add((await connection.ReadResponseAsync(cancellationToken))!.Status);
                }

                await connection.SendAsync("POST /v1/chat HTTP/1.1\r\nHost: acme.example.com\r\nContent-Length: 0\r\n\r\n", cancellationToken);
                statuses.Add((await connection.ReadResponseAsync(cancellationToken))!.Status);
                await connection.SendAsync("GET /nothing HTTP/1.1\r\nHost: acme.example.com\r\n\r\n", cancellationToken);
                statuses.Add((await connection.ReadResponseAsync(cancellationToken))!.Status);
            }

            // files allows a burst of 2 at 1/s (the tenant's 1000/s does not apply to it); chat goes by the tenant's.
            Assert.That(statuses, Is.EqualTo(new[] { 200, 200, 429, 429, 200, 404 }));
            var lines = await File.ReadAllLinesAsync(Path.Combine(directory.FullName, "access.log"), cancellationToken);
            var routes = lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("route")).Select(r => r.ValueKind == JsonValueKind.Null ? null : r.GetString());
            Assert.That(routes, Is.EqualTo(new[] { "files", "files", "files", "files", "chat", null }));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task RouteTimeoutsAndMaxBodyBytes_OverrideThePoolsAndTheTenants_ForThatRouteOnly(CancellationToken cancellationToken)
    {
        await using var silent = new SilentBackend();
        await using var recording = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync($$"""
            [[listeners]]
            name = "web"
            listen = "127.0.0.1:0"

            [[tenants]]
            name = "acme"
            match = ["acme.example.com"]
            pool = "rec"
            max_body_bytes = 1000

            [[tenants.routes]]
            name = "slow"
            path_prefix = "/slow"
            pool = "silent"
            timeouts = { response_head = "200ms" }

            [[tenants.routes]]
            name = "small"
            path_prefix = "/small"
            max_body_bytes = 10

            [[pools]]
            name = "rec"
            backends = [ { address = "{{recording.Address}}" } ]

            [[pools]]
            name = "silent"
            backends = [ { address = "{{silent.Address}}" } ]
            timeouts = { response_head = "30s" }
            """);
        async Task<int> AskAsync(string request)
        {
            await using var connection = await lb.ConnectAsync(cancellationToken);
            await connection.SendAsync(request, cancellationToken);
            return (await connection.ReadResponseAsync(cancellationToken))!.Status;
        }

        // The route's 200 ms, not the pool's 30 s (the test's 20 s bound would fail first).
        var started = System.Diagnostics.Stopwatch.StartNew();
        Assert.That(await AskAsync("GET /slow HTTP/1.1\r\nHost: acme.example.com\r\n\r\n"), Is.EqualTo(504));
        Assert.That(started.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)));

        // The route's 10 bytes replace the tenant's 1000 for /small only.
        var eleven = "POST {0} HTTP/1.1\r\nHost: acme.example.com\r\nContent-Length: 11\r\n\r\nhello world";
        Assert.That(await AskAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, eleven, "/small")), Is.EqualTo(413));
        Assert.That(await AskAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, eleven, "/other")), Is.EqualTo(200), "the tenant's cap elsewhere");
        Assert.That(recording.Requests.Select(r => r.RequestLine), Is.EqualTo(new[] { "POST /other HTTP/1.1" }), "the refused body never reached a backend");
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Http2Stream_TakesTheSameRoutes_AndTransforms(CancellationToken cancellationToken)
    {
        await using var llm = RecordingBackend.Start(Answer);
        await using var storage = RecordingBackend.Start(Answer);
        await using var lb = await TestLb.StartAsync(Config(llm.Address, storage.Address));
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false })
        {
            BaseAddress = new Uri($"http://{lb.EndPoint()}/"),
            DefaultRequestVersion = System.Net.HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/x?y=1") { Content = new StringContent("hi"), Version = System.Net.HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        request.Headers.Host = "acme.example.com";
        using var response = await client.SendAsync(request, cancellationToken);
        using var missing = new HttpRequestMessage(HttpMethod.Get, "/v2/none") { Version = System.Net.HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        missing.Headers.Host = "acme.example.com";
        using var notFound = await client.SendAsync(missing, cancellationToken);

        Assert.That((response.Version, (int)response.StatusCode, (int)notFound.StatusCode), Is.EqualTo((System.Net.HttpVersion.Version20, 200, 404)));
        Assert.That(response.Headers.GetValues("X-Served-By"), Is.EqualTo(new[] { "chat" }));
        Assert.That(response.Headers.Contains("Server"), Is.False);
        await llm.WaitForRequestsAsync(1, cancellationToken);
        var head = llm.Requests.Single();
        Assert.That(head.RequestLine, Is.EqualTo("POST /chat/x?y=1 HTTP/1.1"));
        Assert.That((head.Values("X-Route").Single(), head.Values("X-Model").Single(), head.Values("X-Tenant").Single()), Is.EqualTo(("chat", "small", "acme")));
    }
}
