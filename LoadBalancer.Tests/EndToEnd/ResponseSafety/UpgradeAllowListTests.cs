using System.Text;
using LoadBalancer.Tests.EndToEnd.Conformance;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd.ResponseSafety;

/// <summary>
/// Rule 5 of issue 11: only protocols in the listener's <c>upgrade_protocols</c> (default websocket) are forwarded in
/// <c>Upgrade</c>; h2c never is, and HTTP2-Settings is dropped (RFC 9113 section 3.1). After an h2c upgrade lb could
/// not parse the connection, so the next request, maybe another tenant's, would reach the first tenant's backend.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class UpgradeAllowListTests
{
    private const string H2cUpgrade = "GET / HTTP/1.1\r\nHost: acme.example.com\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\nConnection: Upgrade, HTTP2-Settings\r\n\r\n";
    private const string BetaRequest = "GET /beta HTTP/1.1\r\nHost: beta.example.com\r\n\r\n";

    [Test]
    [CancelAfter(10_000)]
    public async Task H2cUpgrade_IsStripped_NextRequestOnTheConnectionGoesToItsOwnTenant(CancellationToken cancellationToken)
    {
        await using var rig = await ConformanceRig.StartAsync();
        await using var client = await rig.Lb.ConnectAsync(cancellationToken);

        // The smuggling technique: the upgrade, then at once the next tenant's request on the same connection.
        await client.SendAsync(H2cUpgrade + BetaRequest, cancellationToken);
        Assert.That(ConformanceRig.Describe(await client.ReadResponseAsync(cancellationToken)), Is.EqualTo("200 a"));
        Assert.That(ConformanceRig.Describe(await client.ReadResponseAsync(cancellationToken)), Is.EqualTo("200 b"), "tenant beta's request reached beta's backend");

        var toA = rig.A.Requests.Single();
        Assert.That(toA.Values("Upgrade"), Is.Empty, "h2c is never forwarded");
        Assert.That(toA.Values("HTTP2-Settings"), Is.Empty, "HTTP2-Settings is dropped");
        Assert.That(Encoding.Latin1.GetString(rig.A.ReceivedBytes), Does.Not.Contain("beta.example.com"), "nothing of beta's request reached acme's backend");
        Assert.That(rig.B.Requests.Single().RequestLine, Is.EqualTo("GET /beta HTTP/1.1"));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task H2cUpgrade_BackendSwitchesAnyway_Gets502AndTheConnectionCloses(CancellationToken cancellationToken)
    {
        await using var rig = await ConformanceRig.StartAsync(_ => "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"u8.ToArray());
        await using var client = await rig.Lb.ConnectAsync(cancellationToken);
        await client.SendAsync(H2cUpgrade + BetaRequest, cancellationToken);
        Assert.That(ConformanceRig.Describe(await client.ReadResponseAsync(cancellationToken)), Is.EqualTo("502"));
        Assert.That(await client.IsClosedByPeerAsync(cancellationToken), Is.True, "no tunnel: the connection ends");

        var (toA, _) = await rig.StopAndCollectAsync(cancellationToken);
        Assert.That(toA, Does.Not.Contain("beta.example.com"), "beta's request never went unparsed to acme's backend");
        Assert.That(rig.B.Requests, Is.Empty);
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task MixedUpgradeList_ForwardsOnlyAllowedProtocols(CancellationToken cancellationToken)
    {
        await using var rig = await ConformanceRig.StartAsync();
        await using var client = await rig.Lb.ConnectAsync(cancellationToken);
        await client.SendAsync("GET /ws HTTP/1.1\r\nHost: acme.example.com\r\nUpgrade: h2c, websocket/13, foo\r\nHTTP2-Settings: AAMA\r\nConnection: upgrade\r\n\r\n", cancellationToken);
        Assert.That(ConformanceRig.Describe(await client.ReadResponseAsync(cancellationToken)), Is.EqualTo("200 a"));

        var toA = rig.A.Requests.Single();
        Assert.That(toA.Values("Upgrade"), Is.EqualTo(new[] { "websocket/13" }));
        Assert.That(toA.Values("Connection"), Is.EqualTo(new[] { "upgrade" }));
        Assert.That(toA.Values("HTTP2-Settings"), Is.Empty);
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task UpgradeToUnlistedProtocol_GoesOnAsPlainRequest(CancellationToken cancellationToken)
    {
        await using var rig = await ConformanceRig.StartAsync();
        await using var client = await rig.Lb.ConnectAsync(cancellationToken);
        await client.SendAsync("GET / HTTP/1.1\r\nHost: acme.example.com\r\nUpgrade: foo\r\nConnection: upgrade\r\n\r\nGET /2 HTTP/1.1\r\nHost: acme.example.com\r\n\r\n", cancellationToken);
        Assert.That(ConformanceRig.Describe(await client.ReadResponseAsync(cancellationToken)), Is.EqualTo("200 a"));
        Assert.That(ConformanceRig.Describe(await client.ReadResponseAsync(cancellationToken)), Is.EqualTo("200 a"));
        Assert.That(rig.A.Requests.First().Values("Upgrade"), Is.Empty);
        Assert.That(rig.A.Connections, Is.EqualTo(1), "a plain request: the backend connection is kept");
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task SwitchToAnotherProtocolThanOffered_Gets502(CancellationToken cancellationToken)
    {
        await using var rig = await ConformanceRig.StartAsync(_ => "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n"u8.ToArray());
        await using var client = await rig.Lb.ConnectAsync(cancellationToken);
        await client.SendAsync("GET /ws HTTP/1.1\r\nHost: acme.example.com\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", cancellationToken);
        Assert.That(ConformanceRig.Describe(await client.ReadResponseAsync(cancellationToken)), Is.EqualTo("502"));
        Assert.That(await client.IsClosedByPeerAsync(cancellationToken), Is.True);
    }
}
