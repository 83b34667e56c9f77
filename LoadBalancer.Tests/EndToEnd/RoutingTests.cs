using System.Net;
using System.Security.Cryptography;
using System.Text;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd;

[TestFixture]
[Category("EndToEnd")]
public sealed class RoutingTests
{
    private TestBackends _backends = null!;
    private TestLb _lb = null!;

    [SetUp]
    public async Task SetUp()
    {
        _backends = TestBackends.Start("a1", "a2", "g1");
        _lb = await TestLb.StartAsync($$"""
            [[listeners]]
            name = "web"
            listen = "127.0.0.1:0"

            [[tenants]]
            name = "acme"
            match = ["acme.example.com", "*.acme.example.com"]
            pool = "acme-pool"

            [[tenants]]
            name = "globex"
            match = ["globex.example.com"]
            pool = "globex-pool"

            [[tenants]]
            name = "dead"
            match = ["dead.example.com"]
            pool = "dead-pool"

            [[tenants]]
            name = "half"
            match = ["half.example.com"]
            pool = "half-pool"

            [[pools]]
            name = "acme-pool"
            balancer = "round-robin"
            backends = [ { address = "{{_backends.Address("a1")}}", weight = 1 }, { address = "{{_backends.Address("a2")}}", weight = 2 } ]

            [[pools]]
            name = "globex-pool"
            balancer = "least-connections"
            backends = [ { address = "{{_backends.Address("g1")}}" } ]

            [[pools]]
            name = "dead-pool"
            balancer = "round-robin"
            backends = [ { address = "{{TestBackends.DeadAddress()}}" } ]

            [[pools]]
            name = "half-pool"
            balancer = "round-robin"
            backends = [ { address = "{{TestBackends.DeadAddress()}}" }, { address = "{{_backends.Address("g1")}}" } ]
            """);
    }

    [TearDown]
    public async Task TearDown()
    {
        await _lb.DisposeAsync();
        await _backends.DisposeAsync();
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task TwoTenants_ReachOnlyTheirOwnPools(CancellationToken cancellationToken)
    {
        using var client = _lb.CreateClient();
        var acmeBackends = new HashSet<string>();
        for (var i = 0; i < 30; i++)
        {
            acmeBackends.Add(await GetBackendAsync(client, "acme.example.com", cancellationToken));
            Assert.That(await GetBackendAsync(client, "globex.example.com", cancellationToken), Is.EqualTo("g1"));
            acmeBackends.Add(await GetBackendAsync(client, "api.acme.example.com:8080", cancellationToken));
        }

        Assert.That(acmeBackends, Is.EquivalentTo(new[] { "a1", "a2" }));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task KeepAliveConnection_AlternatingHosts_EachRequestRoutedOnItsOwn(CancellationToken cancellationToken)
    {
        await using var connection = await _lb.ConnectAsync(cancellationToken);
        for (var i = 0; i < 20; i++)
        {
            var host = i % 2 == 0 ? "acme.example.com" : "globex.example.com";
            await connection.SendAsync($"GET /{i} HTTP/1.1\r\nHost: {host}\r\n\r\n", cancellationToken);
            var response = await connection.ReadResponseAsync(cancellationToken);
            Assert.That(response, Is.Not.Null);
            Assert.That(response!.Status, Is.EqualTo(200));
            var backend = response.Header("X-Backend");
            if (i % 2 == 0)
            {
                Assert.That(backend, Is.AnyOf("a1", "a2"), $"request {i} for acme");
            }
            else
            {
                Assert.That(backend, Is.EqualTo("g1"), $"request {i} for globex");
            }

            Assert.That(response.BodyText, Does.Contain($"GET /{i} host={host}"));
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task PipelinedRequests_DifferentHosts_AnsweredInOrderByOwnTenant(CancellationToken cancellationToken)
    {
        await using var connection = await _lb.ConnectAsync(cancellationToken);
        var batch = new StringBuilder();
        for (var i = 0; i < 10; i++)
        {
            batch.Append($"GET /p{i} HTTP/1.1\r\nHost: {(i % 2 == 0 ? "globex.example.com" : "acme.example.com")}\r\n\r\n");
        }

        await connection.SendAsync(batch.ToString(), cancellationToken);
        for (var i = 0; i < 10; i++)
        {
            var response = await connection.ReadResponseAsync(cancellationToken);
            Assert.That(response!.BodyText, Does.Contain($"/p{i} "));
            Assert.That(response.Header("X-Backend"), i % 2 == 0 ? Is.EqualTo("g1") : Is.AnyOf("a1", "a2"));
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ChunkedPost10MiB_ArrivesByteIdentical(CancellationToken cancellationToken)
    {
        var random = new Random(42);
        using var wire = new MemoryStream();
        var remaining = 10 * 1024 * 1024;
        while (remaining > 0)
        {
            var size = Math.Min(remaining, random.Next(1, 256 * 1024));
            var chunk = new byte[size];
            random.NextBytes(chunk);
            wire.Write(Encoding.ASCII.GetBytes($"{size:x}\r\n"));
            wire.Write(chunk);
            wire.Write("\r\n"u8);
            remaining -= size;
        }

        wire.Write("0\r\n\r\n"u8);
        var chunkedBody = wire.ToArray();
        var expected = Convert.ToHexStringLower(SHA256.HashData(chunkedBody));

        await using var connection = await _lb.ConnectAsync(cancellationToken);
        await connection.SendAsync("POST /upload HTTP/1.1\r\nHost: globex.example.com\r\nTransfer-Encoding: chunked\r\n\r\n", cancellationToken);
        await connection.SendAsync(chunkedBody, cancellationToken);
        var response = await connection.ReadResponseAsync(cancellationToken);

        Assert.That(response!.Status, Is.EqualTo(200));
        Assert.That(response.Header("X-Body-Length"), Is.EqualTo(chunkedBody.Length.ToString()));
        Assert.That(response.Header("X-Body-Sha256"), Is.EqualTo(expected));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ContentLengthPost_ThroughHttpClient_ArrivesByteIdentical(CancellationToken cancellationToken)
    {
        var body = new byte[3 * 1024 * 1024 + 17];
        new Random(7).NextBytes(body);
        using var client = _lb.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/upload") { Content = new ByteArrayContent(body) };
        request.Headers.Host = "acme.example.com";
        using var response = await client.SendAsync(request, cancellationToken);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Headers.GetValues("X-Body-Sha256").Single(), Is.EqualTo(Convert.ToHexStringLower(SHA256.HashData(body))));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task HundredConcurrentClients_AllSucceed(CancellationToken cancellationToken)
    {
        var failures = 0;
        var tasks = Enumerable.Range(0, 100).Select(async i =>
        {
            using var client = _lb.CreateClient(maxConnections: 1);
            for (var r = 0; r < 10; r++)
            {
                var host = i % 2 == 0 ? "acme.example.com" : "globex.example.com";
                using var request = new HttpRequestMessage(HttpMethod.Get, $"/c{i}/{r}");
                request.Headers.Host = host;
                using var response = await client.SendAsync(request, cancellationToken);
                var backend = response.Headers.TryGetValues("X-Backend", out var values) ? values.Single() : "";
                var ok = response.StatusCode == HttpStatusCode.OK && (i % 2 == 0 ? backend is "a1" or "a2" : backend == "g1");
                if (!ok)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        });
        await Task.WhenAll(tasks);

        Assert.That(failures, Is.Zero);
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task UnknownTenant_Gets421(CancellationToken cancellationToken)
    {
        using var client = _lb.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Host = "nobody.example.com";
        using var response = await client.SendAsync(request, cancellationToken);
        Assert.That((int)response.StatusCode, Is.EqualTo(421));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task DeadBackend_Gets502_AndOtherTenantsKeepWorking(CancellationToken cancellationToken)
    {
        using var client = _lb.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Host = "dead.example.com";
        using var response = await client.SendAsync(request, cancellationToken);
        Assert.That((int)response.StatusCode, Is.EqualTo(502));
        Assert.That(await GetBackendAsync(client, "globex.example.com", cancellationToken), Is.EqualTo("g1"));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task OneDeadBackendOfTwo_RequestsRetriedOnTheLiveOne(CancellationToken cancellationToken)
    {
        using var client = _lb.CreateClient();
        for (var i = 0; i < 10; i++)
        {
            Assert.That(await GetBackendAsync(client, "half.example.com", cancellationToken), Is.EqualTo("g1"));
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task NoAvailableBackend_Gets503(CancellationToken cancellationToken)
    {
        foreach (var backend in _lb.Snapshot.Pools["acme-pool"].Backends)
        {
            backend.IsAvailable = false;
        }

        using var client = _lb.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Host = "acme.example.com";
        using var response = await client.SendAsync(request, cancellationToken);
        Assert.That((int)response.StatusCode, Is.EqualTo(503));
    }

    private static async Task<string> GetBackendAsync(HttpClient client, string host, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Host = host;
        using var response = await client.SendAsync(request, cancellationToken);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), host);
        return response.Headers.GetValues("X-Backend").Single();
    }
}
