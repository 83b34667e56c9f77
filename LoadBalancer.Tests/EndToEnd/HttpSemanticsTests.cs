using System.Net;
using System.Net.Sockets;
using System.Text;
using LoadBalancer.Core.Transport;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>Proxy semantics end to end: exactly what the backend receives, and what the client gets back.</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class HttpSemanticsTests
{
    private static string Config(string backend, string listenerExtra = "", string poolExtra = "")
        => TestConfigs.OneTenant(backend, listenerExtra, poolExtra);

    [Test]
    [CancelAfter(20_000)]
    public async Task HopByHopHeaders_AreRemoved_AndForwardedHeadersReplaceClientOnes(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(Config(backend.Address));
        await using var client = await lb.ConnectAsync(cancellationToken);
        await client.SendAsync(
            "GET /a HTTP/1.1\r\nHost: acme.example.com\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\n" +
            "Proxy-Connection: keep-alive\r\nTE: trailers\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Host: evil\r\nX-Other: kept\r\n\r\n",
            cancellationToken);
        var response = await client.ReadResponseAsync(cancellationToken);
        Assert.That(response!.Status, Is.EqualTo(200));

        var received = backend.Requests.Single();
        Assert.That(received.RequestLine, Is.EqualTo("GET /a HTTP/1.1"));
        var names = received.Headers.Select(h => h.Name.ToLowerInvariant()).ToList();
        Assert.That(names, Does.Not.Contain("connection").And.Not.Contain("x-secret").And.Not.Contain("keep-alive")
            .And.Not.Contain("proxy-connection").And.Not.Contain("te"));
        Assert.That(received.Values("X-Other"), Is.EqualTo(new[] { "kept" }));
        Assert.That(received.Values("X-Forwarded-For"), Is.EqualTo(new[] { "127.0.0.1" }));
        Assert.That(received.Values("X-Forwarded-Host"), Is.EqualTo(new[] { "acme.example.com" }));
        Assert.That(received.Values("X-Forwarded-Proto"), Is.EqualTo(new[] { "http" }));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task TrustedListener_KeepsClientForwardedFor_AndAppendsOwn(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(Config(backend.Address, "trust_forwarded_headers = true"));
        await using var client = await lb.ConnectAsync(cancellationToken);
        await client.SendAsync("GET / HTTP/1.1\r\nHost: acme.example.com\r\nX-Forwarded-For: 203.0.113.9\r\n\r\n", cancellationToken);
        await client.ReadResponseAsync(cancellationToken);
        Assert.That(backend.Requests.Single().Values("X-Forwarded-For"), Is.EqualTo(new[] { "203.0.113.9", "127.0.0.1" }));
    }

    [TestCase("forwarded_headers = false", "")]
    [TestCase("forwarded_headers = false\ntrust_forwarded_headers = true", "X-Forwarded-For: 203.0.113.9\r\n")]
    [CancelAfter(20_000)]
    public async Task ForwardedHeadersOff_NoneAdded_ClientOnesKeptOnlyWhenTrusted(string listenerExtra, string expectedForwarded, CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(Config(backend.Address, listenerExtra));
        await using var client = await lb.ConnectAsync(cancellationToken);
        await client.SendAsync("GET / HTTP/1.1\r\nHost: acme.example.com\r\nX-Forwarded-For: 203.0.113.9\r\n\r\n", cancellationToken);
        Assert.That((await client.ReadResponseAsync(cancellationToken))!.Status, Is.EqualTo(200));
        Assert.That(backend.Requests.Single().Head, Is.EqualTo("GET / HTTP/1.1\r\nHost: acme.example.com\r\n" + expectedForwarded + "\r\n"));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task AbsoluteFormTarget_DecidesTenant_AndHostIsRewrittenToAgree(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(Config(backend.Address));
        await using var client = await lb.ConnectAsync(cancellationToken);
        await client.SendAsync("GET http://acme.example.com/x?y=1 HTTP/1.1\r\nHost: other.example.com\r\n\r\n", cancellationToken);
        var response = await client.ReadResponseAsync(cancellationToken);
        Assert.That(response!.Status, Is.EqualTo(200));
        var received = backend.Requests.Single();
        Assert.That(received.RequestLine, Is.EqualTo("GET /x?y=1 HTTP/1.1"));
        Assert.That(received.Values("Host"), Is.EqualTo(new[] { "acme.example.com" }));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task ExpectContinue_WorksEndToEnd(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start(sendContinue: true);
        await using var lb = await TestLb.StartAsync(Config(backend.Address));
        await using var client = await lb.ConnectAsync(cancellationToken);
        await client.SendAsync("POST /up HTTP/1.1\r\nHost: acme.example.com\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n", cancellationToken);
        var interim = await client.ReadResponseAsync(cancellationToken);
        Assert.That(interim!.Status, Is.EqualTo(100));
        await client.SendAsync("hello", cancellationToken);
        var final = await client.ReadResponseAsync(cancellationToken);
        Assert.That(final!.Status, Is.EqualTo(200));
        Assert.That(Encoding.ASCII.GetString(backend.Requests.Single().BodyBytes), Is.EqualTo("hello"));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task ExpectContinue_BackendRefusesEarly_ConnectionClosedNotPoisoned(CancellationToken cancellationToken)
    {
        // The backend answers 413 without reading the body: the next bytes on the client connection are the unread
        // body, so lb must close instead of parsing them as a request.
        await using var backend = RecordingBackend.Start(_ => Encoding.ASCII.GetBytes("HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n"), answerBeforeBody: true);
        await using var lb = await TestLb.StartAsync(Config(backend.Address));
        await using var client = await lb.ConnectAsync(cancellationToken);
        await client.SendAsync("POST /up HTTP/1.1\r\nHost: acme.example.com\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n", cancellationToken);
        var response = await client.ReadResponseAsync(cancellationToken);
        Assert.That(response!.Status, Is.EqualTo(413));
        Assert.That(response.Header("Connection"), Is.EqualTo("close"));
        Assert.That(await client.IsClosedByPeerAsync(cancellationToken), Is.True);
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Upgrade_101_BecomesTwoWayTunnel(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start(_ => Encoding.ASCII.GetBytes("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"));
        await using var lb = await TestLb.StartAsync(Config(backend.Address));
        await using var client = await lb.ConnectAsync(cancellationToken);
        await client.SendAsync("GET /ws HTTP/1.1\r\nHost: acme.example.com\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", cancellationToken);
        var response = await client.ReadResponseAsync(cancellationToken);
        Assert.That(response!.Status, Is.EqualTo(101));
        var received = backend.Requests.Single();
        Assert.That(received.Values("Upgrade"), Is.EqualTo(new[] { "websocket" }));
        Assert.That(received.Values("Connection").Single(), Is.EqualTo("upgrade").IgnoreCase);

        var payload = "raw frames \x01\x02 not HTTP"u8.ToArray();
        await client.SendAsync(payload, cancellationToken);
        var echoed = new byte[payload.Length];
        var total = 0;
        while (total < echoed.Length)
        {
            var read = await client.Socket.ReceiveAsync(echoed.AsMemory(total), SocketFlags.None, cancellationToken);
            Assert.That(read, Is.GreaterThan(0), "the tunnel closed before the echo came back");
            total += read;
        }

        Assert.That(echoed, Is.EqualTo(payload));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task UpgradeRefused_KeepsHttpFraming(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(Config(backend.Address));
        await using var client = await lb.ConnectAsync(cancellationToken);
        await client.SendAsync("GET /ws HTTP/1.1\r\nHost: acme.example.com\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", cancellationToken);
        Assert.That((await client.ReadResponseAsync(cancellationToken))!.Status, Is.EqualTo(200));
        await client.SendAsync("GET /next HTTP/1.1\r\nHost: acme.example.com\r\n\r\n", cancellationToken);
        Assert.That((await client.ReadResponseAsync(cancellationToken))!.Status, Is.EqualTo(200));
        Assert.That(backend.Requests.Last().RequestLine, Is.EqualTo("GET /next HTTP/1.1"));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Http10Client_WithoutKeepAlive_GetsResponseThenClose(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(Config(backend.Address));
        await using var client = await lb.ConnectAsync(cancellationToken);
        await client.SendAsync("GET / HTTP/1.0\r\nHost: acme.example.com\r\n\r\n", cancellationToken);
        var response = await client.ReadResponseAsync(cancellationToken);
        Assert.That(response!.Status, Is.EqualTo(200));
        Assert.That(response.Header("Connection"), Is.EqualTo("close"));
        Assert.That(await client.IsClosedByPeerAsync(cancellationToken), Is.True);
        Assert.That(backend.Requests.Single().RequestLine, Is.EqualTo("GET / HTTP/1.1"), "lb speaks HTTP/1.1 to backends whatever the client version");
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Http10Client_WithKeepAlive_StaysOpen(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(Config(backend.Address));
        await using var client = await lb.ConnectAsync(cancellationToken);
        for (var i = 0; i < 3; i++)
        {
            await client.SendAsync("GET / HTTP/1.0\r\nHost: acme.example.com\r\nConnection: keep-alive\r\n\r\n", cancellationToken);
            var response = await client.ReadResponseAsync(cancellationToken);
            Assert.That(response!.Status, Is.EqualTo(200));
            Assert.That(response.Header("Connection"), Is.EqualTo("keep-alive"));
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task ConnectionClose_FromClient_IsHonoured(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(Config(backend.Address));
        await using var client = await lb.ConnectAsync(cancellationToken);
        await client.SendAsync("GET / HTTP/1.1\r\nHost: acme.example.com\r\nConnection: close\r\n\r\n", cancellationToken);
        var response = await client.ReadResponseAsync(cancellationToken);
        Assert.That(response!.Header("Connection"), Is.EqualTo("close"));
        Assert.That(await client.IsClosedByPeerAsync(cancellationToken), Is.True);
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task MalformedResponse_Gets502_AndBackendConnectionIsNotReused(CancellationToken cancellationToken)
    {
        var calls = 0;
        await using var backend = RecordingBackend.Start(_ => Interlocked.Increment(ref calls) == 1
            ? Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\nok")
            : RecordingBackend.Ok("fine"));
        await using var lb = await TestLb.StartAsync(Config(backend.Address));
        using var http = lb.CreateClient();
        Assert.That((int)(await Send(http, cancellationToken)).StatusCode, Is.EqualTo(502));
        Assert.That((int)(await Send(http, cancellationToken)).StatusCode, Is.EqualTo(200));
        Assert.That(backend.Connections, Is.EqualTo(2));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task CloseDelimitedResponse_IsStreamedThenClientConnectionClosed(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start(_ => Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end"));
        await using var lb = await TestLb.StartAsync(Config(backend.Address));
        await using var client = await lb.ConnectAsync(cancellationToken);
        await client.SendAsync("GET / HTTP/1.1\r\nHost: acme.example.com\r\n\r\n", cancellationToken);
        var response = await client.ReadResponseAsync(cancellationToken);
        Assert.That(response!.BodyText, Is.EqualTo("until the end"));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task HeadRequest_ResponseWithContentLength_HasNoBody(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start(_ => Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"));
        await using var lb = await TestLb.StartAsync(Config(backend.Address));
        await using var client = await lb.ConnectAsync(cancellationToken);
        for (var i = 0; i < 2; i++)
        {
            await client.SendAsync("HEAD / HTTP/1.1\r\nHost: acme.example.com\r\n\r\n", cancellationToken);
            var response = await client.ReadResponseAsync(cancellationToken, headRequest: true);
            Assert.That(response!.Status, Is.EqualTo(200));
            Assert.That(response.Header("Content-Length"), Is.EqualTo("1234"));
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task AcceptProxyProtocolV1_ClientAddressComesFromHeader(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(Config(backend.Address, "accept_proxy_protocol = true"));
        await using var client = await lb.ConnectAsync(cancellationToken);
        await client.SendAsync("PROXY TCP4 198.51.100.7 10.0.0.1 40000 80\r\nGET / HTTP/1.1\r\nHost: acme.example.com\r\n\r\n", cancellationToken);
        Assert.That((await client.ReadResponseAsync(cancellationToken))!.Status, Is.EqualTo(200));
        Assert.That(backend.Requests.Single().Values("X-Forwarded-For"), Is.EqualTo(new[] { "198.51.100.7" }));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task AcceptProxyProtocolV2_ClientAddressComesFromHeader(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(Config(backend.Address, "accept_proxy_protocol = true"));
        await using var client = await lb.ConnectAsync(cancellationToken);
        var header = new byte[64];
        var length = ProxyProtocolCodec.WriteV2(header, new IPEndPoint(IPAddress.Parse("2001:db8::5"), 1234), new IPEndPoint(IPAddress.IPv6Loopback, 80));
        await client.SendAsync(header.AsMemory(0, length), cancellationToken);
        await client.SendAsync("GET / HTTP/1.1\r\nHost: acme.example.com\r\n\r\n", cancellationToken);
        Assert.That((await client.ReadResponseAsync(cancellationToken))!.Status, Is.EqualTo(200));
        Assert.That(backend.Requests.Single().Values("X-Forwarded-For"), Is.EqualTo(new[] { "2001:db8::5" }));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task AcceptProxyProtocol_MissingHeader_ClosesWithoutForwarding(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(Config(backend.Address, "accept_proxy_protocol = true"));
        await using var client = await lb.ConnectAsync(cancellationToken);
        await client.SendAsync("GET / HTTP/1.1\r\nHost: acme.example.com\r\n\r\n", cancellationToken);
        Assert.That(await client.IsClosedByPeerAsync(cancellationToken), Is.True);
        Assert.That(backend.Requests, Is.Empty);
    }

    [TestCase("v1", "PROXY TCP4 127.0.0.1 127.0.0.1 ")]
    [TestCase("v2", "\r\n\r\n\0\r\nQUIT\n")]
    [CancelAfter(20_000)]
    public async Task SendProxyProtocol_BackendReceivesHeaderFirst(string version, string expectedPrefix, CancellationToken cancellationToken)
    {
        // The recording backend's parser sees the PROXY header as the start of the "request" and records it raw.
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(Config(backend.Address, poolExtra: $"send_proxy_protocol = \"{version}\""));
        await using var client = await lb.ConnectAsync(cancellationToken);
        await client.SendAsync("GET / HTTP/1.1\r\nHost: acme.example.com\r\n\r\n", cancellationToken);
        await backend.WaitForRequestsAsync(1, cancellationToken);
        var raw = Encoding.Latin1.GetString(backend.Requests.First().Raw);
        Assert.That(raw, Does.StartWith(expectedPrefix));
    }

    private static async Task<HttpResponseMessage> Send(HttpClient client, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Host = "acme.example.com";
        return await client.SendAsync(request, cancellationToken);
    }
}
