using System.Security.Cryptography;
using System.Text;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>
/// lb's own refusals of body-less requests (401/403/429) keep the connection usable; others still close. These pin
/// the README's behaviour table, and its line on <c>lb_access_key_requests_total</c> (refused requests count too).
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class RefusalKeepAliveTests
{
    private const string Key = "refusal-test-key-0123456789";

    private static string Config(string backend, string tenantExtra = "")
        => TestConfigs.OneTenant(backend, tenantExtra: $"access_keys = [ {{ id = \"k\", sha256 = \"{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Key)))}\" }} ]\n{tenantExtra}");

    private static string Get(string path, string key) => $"GET {path} HTTP/1.1\r\nHost: acme.example.com\r\nAuthorization: Bearer {key}\r\n\r\n";

    [Test]
    [CancelAfter(20_000)]
    public async Task WrongKey_Gets403_AndTheSameConnectionServesTheNextRequest(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(Config(backend.Address));
        await using var client = await lb.ConnectAsync(cancellationToken);

        await client.SendAsync(Get("/a", "not-the-key-0123456789"), cancellationToken);
        var refused = await client.ReadResponseAsync(cancellationToken);
        Assert.That(refused!.Status, Is.EqualTo(403));
        Assert.That(refused.Header("Connection"), Is.Null);

        await client.SendAsync(Get("/b", Key), cancellationToken);
        Assert.That((await client.ReadResponseAsync(cancellationToken))!.Status, Is.EqualTo(200));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task OverRateLimit_Gets429_ConnectionStaysOpen_AndTheKeyCountsRefusedRequestsToo(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(Config(backend.Address, "rate_limit = { requests_per_second = 1, burst = 1 }"));
        await using var admin = TestAdmin.Start(lb);
        await using var client = await lb.ConnectAsync(cancellationToken);

        // One token: the first request takes it, the next ones (well within a second) are refused on the same connection.
        var statuses = new List<int>();
        for (var i = 0; i < 3; i++)
        {
            await client.SendAsync(Get($"/{i}", Key), cancellationToken);
            var response = await client.ReadResponseAsync(cancellationToken);
            Assert.That(response!.Header("Connection"), Is.Null, "a refused body-less HTTP/1.1 request keeps the connection");
            statuses.Add(response.Status);
        }

        Assert.That(statuses[0], Is.EqualTo(200));
        Assert.That(statuses.Skip(1), Has.Some.EqualTo(429));
        var keyCount = "lb_access_key_requests_total{tenant=\"acme\",key_id=\"k\"} 3\n";
        string metrics;
        while (!(metrics = await admin.GetAsync("/metrics", cancellationToken)).Contains(keyCount, StringComparison.Ordinal))
        {
            await Task.Delay(20, cancellationToken); // the 200 is counted when its exchange ends, just after the client read it
        }

        Assert.That(metrics, Does.Contain($"lb_rate_limited_total{{tenant=\"acme\"}} {statuses.Count(s => s == 429)}\n"));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task MissingKey_Gets401_AndTheSameConnectionServesTheNextRequest(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(Config(backend.Address));
        await using var client = await lb.ConnectAsync(cancellationToken);

        await client.SendAsync("GET /a HTTP/1.1\r\nHost: acme.example.com\r\n\r\n", cancellationToken);
        var refused = await client.ReadResponseAsync(cancellationToken);
        Assert.That(refused!.Status, Is.EqualTo(401));
        Assert.That(refused.Header("Connection"), Is.Null);

        await client.SendAsync($"GET /b HTTP/1.1\r\nHost: acme.example.com\r\nAuthorization: Bearer {Key}\r\n\r\n", cancellationToken);
        Assert.That((await client.ReadResponseAsync(cancellationToken))!.Status, Is.EqualTo(200));
        Assert.That(backend.Requests.Single().RequestLine, Is.EqualTo("GET /b HTTP/1.1"));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task RefusalWithBody_Closes(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(Config(backend.Address));
        await using var client = await lb.ConnectAsync(cancellationToken);

        await client.SendAsync("POST /a HTTP/1.1\r\nHost: acme.example.com\r\nContent-Length: 3\r\n\r\nabc", cancellationToken);
        var refused = await client.ReadResponseAsync(cancellationToken);
        Assert.That(refused!.Status, Is.EqualTo(401));
        Assert.That(refused.Header("Connection"), Is.EqualTo("close"));
        Assert.That(await client.IsClosedByPeerAsync(cancellationToken), Is.True);
        Assert.That(backend.Requests, Is.Empty);
    }
}
