using System.Security.Cryptography;
using System.Text;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>lb's own refusals of body-less requests (401/403/429) keep the connection usable; others still close.</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class RefusalKeepAliveTests
{
    private const string Key = "refusal-test-key-0123456789";

    private static string Config(string backend)
        => TestConfigs.OneTenant(backend, tenantExtra: $"access_keys = [ {{ id = \"k\", sha256 = \"{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Key)))}\" }} ]");

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
