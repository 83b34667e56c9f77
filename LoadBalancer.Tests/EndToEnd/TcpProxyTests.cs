using System.Text;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>L4: tcp listeners splice bytes; with tenant_key = "sni" they route TLS by the ClientHello's server name without terminating it.</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class TcpProxyTests
{
    [Test]
    [CancelAfter(20_000)]
    public async Task TcpListener_SplicesBytesToDefaultTenantsPool(CancellationToken cancellationToken)
    {
        await using var backends = TestBackends.Start("raw1");
        await using var lb = await TestLb.StartAsync($$"""
            [[listeners]]
            name = "l4"
            listen = "127.0.0.1:0"
            protocol = "tcp"
            default_tenant = "t"

            [[tenants]]
            name = "t"
            match = ["unused.example.com"]
            pool = "p"
            listeners = []

            [[pools]]
            name = "p"
            backends = [ { address = "{{backends.Address("raw1")}}" } ]
            """);
        await using var client = await lb.ConnectAsync(cancellationToken, "l4");
        for (var i = 0; i < 3; i++)
        {
            // lb does not parse anything here: the Host header reaches the backend untouched, with no X-Forwarded-For.
            await client.SendAsync($"GET /l4/{i} HTTP/1.1\r\nHost: whatever.invalid\r\n\r\n", cancellationToken);
            var response = await client.ReadResponseAsync(cancellationToken);
            Assert.That(response!.Header("X-Backend"), Is.EqualTo("raw1"));
            Assert.That(response.BodyText, Does.Contain($"GET /l4/{i} host=whatever.invalid"));
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task TcpListener_AcceptProxyProtocol_HeaderIsConsumed_AndItsAddressGoesOn(CancellationToken cancellationToken)
    {
        // The PROXY step runs at accept time for every protocol: on a tunnel too, the header is taken off the stream and
        // its source is the client address the backend is told about (here in lb's own PROXY header).
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(TunnelConfig(backend.Address));
        await using var client = await lb.ConnectAsync(cancellationToken, "l4");
        await client.SendAsync("PROXY TCP4 198.51.100.7 10.0.0.1 40000 80\r\nGET /t HTTP/1.1\r\nHost: acme.example.com\r\n\r\n", cancellationToken);
        await backend.WaitForRequestsAsync(1, cancellationToken);
        var raw = Encoding.Latin1.GetString(backend.Requests.First().Raw);
        Assert.That(raw, Does.StartWith("PROXY TCP4 198.51.100.7 "));
        Assert.That(raw.Split("PROXY").Length - 1, Is.EqualTo(1), "the client's header must not be forwarded as data");
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task TcpListener_AcceptProxyProtocol_MissingHeader_ClosesWithoutConnecting(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(TunnelConfig(backend.Address));
        await using var client = await lb.ConnectAsync(cancellationToken, "l4");
        await client.SendAsync("GET / HTTP/1.1\r\nHost: acme.example.com\r\n\r\n", cancellationToken);
        Assert.That(await client.IsClosedByPeerAsync(cancellationToken), Is.True);
        Assert.That(backend.Requests, Is.Empty);
    }

    private static string TunnelConfig(string backend) => $$"""
        [[listeners]]
        name = "l4"
        listen = "127.0.0.1:0"
        protocol = "tcp"
        default_tenant = "t"
        accept_proxy_protocol = true

        [[tenants]]
        name = "t"
        match = ["unused.example.com"]
        pool = "p"
        listeners = []

        [[pools]]
        name = "p"
        send_proxy_protocol = "v1"
        backends = [ { address = "{{backend}}" } ]
        """;

    [Test]
    [CancelAfter(30_000)]
    public async Task SniListener_RoutesTlsByServerName_WithoutTerminatingIt(CancellationToken cancellationToken)
    {
        await using var alpha = TlsEchoBackend.Start("alpha");
        await using var beta = TlsEchoBackend.Start("beta");
        await using var fallback = TlsEchoBackend.Start("fallback");
        await using var lb = await TestLb.StartAsync($$"""
            [[listeners]]
            name = "tls"
            listen = "127.0.0.1:0"
            protocol = "tcp"
            tenant_key = "sni"
            default_tenant = "other"

            [[tenants]]
            name = "a"
            match = ["a.example.com"]
            pool = "pa"

            [[tenants]]
            name = "b"
            match = ["*.b.example.com"]
            pool = "pb"

            [[tenants]]
            name = "other"
            match = ["other.example.com"]
            pool = "pf"

            [[pools]]
            name = "pa"
            backends = [ { address = "{{alpha.Address}}" } ]

            [[pools]]
            name = "pb"
            backends = [ { address = "{{beta.Address}}" } ]

            [[pools]]
            name = "pf"
            backends = [ { address = "{{fallback.Address}}" } ]
            """);
        var endPoint = lb.EndPoint("tls");

        Assert.That(await TlsEchoBackend.QueryAsync(endPoint, "a.example.com", cancellationToken), Is.EqualTo("alpha a.example.com"));
        Assert.That(await TlsEchoBackend.QueryAsync(endPoint, "x.b.example.com", cancellationToken), Is.EqualTo("beta x.b.example.com"));
        Assert.That(await TlsEchoBackend.QueryAsync(endPoint, "unknown.example.com", cancellationToken), Is.EqualTo("fallback unknown.example.com"));
    }
}
