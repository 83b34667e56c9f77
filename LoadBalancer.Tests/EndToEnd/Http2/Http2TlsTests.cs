using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd.Http2;

/// <summary>
/// HTTP/2 over TLS by ALPN (<c>h2</c> offered before <c>http/1.1</c> when the listener has <c>http2</c>): real clients
/// (.NET HttpClient, curl) through lb to in-test HTTP/1.1 backends; a stream for an authority the connection's
/// certificate does not cover gets 421 (RFC 9110 section 7.4).
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class Http2TlsTests : TlsFixture
{
    private static string Config(string acme, string globex, string certificates, string http2 = "http2 = true") => $$"""
        [[listeners]]
        name = "web"
        listen = "127.0.0.1:0"
        {{http2}}
        tls = { certificates = [ {{certificates}} ] }

        [[tenants]]
        name = "acme"
        match = ["acme.test"]
        pool = "a"

        [[tenants]]
        name = "globex"
        match = ["globex.test", "other.test"]
        pool = "g"

        [[pools]]
        name = "a"
        backends = [ { address = "{{acme}}" } ]

        [[pools]]
        name = "g"
        backends = [ { address = "{{globex}}" } ]
        """;

    /// <summary>Every request goes to lb's port whatever its host: the URI's host is the SNI, a Host header the :authority.</summary>
    private HttpClient Client(IPEndPoint endPoint, Version version, HttpVersionPolicy policy) => new(new SocketsHttpHandler
    {
        UseProxy = false,
        SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, c, _, _) => Certs.Validate(c as X509Certificate2) },
        ConnectCallback = async (_, token) =>
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(endPoint, token);
            return new NetworkStream(socket, ownsSocket: true);
        },
    })
    {
        DefaultRequestVersion = version,
        DefaultVersionPolicy = policy,
        Timeout = TimeSpan.FromSeconds(30),
    };

    private static HttpRequestMessage Get(string uri, string? authority = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, uri) { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        if (authority is not null)
        {
            request.Headers.Host = authority;
        }

        return request;
    }

    private const byte EndStream = 0x1, EndHeaders = 0x4;

    private static byte[] GetFrame(int streamId, string authority, string path)
        => RawHttp2Client.Frame(1, EndHeaders | EndStream, streamId, RawHttp2Client.Block([(":method", "GET"), (":scheme", "https"), (":path", path), (":authority", authority)]));

    [Test]
    [CancelAfter(30_000)]
    public async Task AlpnH2_TwoTenantsCoveredByTheCertificate_ShareOneConnection_EachReachesItsOwnBackend(CancellationToken cancellationToken)
    {
        await using var acme = RecordingBackend.Start(_ => RecordingBackend.Ok("acme\n"));
        await using var globex = RecordingBackend.Start(_ => RecordingBackend.Ok("globex\n"));
        var certificate = TlsTerminationTests.Entry(Certs.Issue("both", ["acme.test", "globex.test"]));
        await using var lb = await TestLb.StartAsync(Config(acme.Address, globex.Address, certificate), ConfigPath);
        var port = lb.EndPoint().Port;

        // A browser coalesces: one connection (SNI acme.test) for every name its certificate covers.
        await using var client = await RawHttp2Client.ConnectTlsAsync(lb.EndPoint(), "acme.test", (_, c, _, _) => Certs.Validate(c as X509Certificate2), cancellationToken);
        Assert.That(client.Tls!.NegotiatedApplicationProtocol, Is.EqualTo(SslApplicationProtocol.Http2));
        var statuses = new List<int>();
        for (var i = 0; i < 6; i++)
        {
            var streamId = 1 + (2 * i);
            await client.SendAsync(GetFrame(streamId, (i % 2 == 0 ? "acme.test" : "globex.test") + ":" + port, $"/item/{i}"), cancellationToken);
            statuses.Add(await client.StatusAsync(streamId, cancellationToken));
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(statuses, Is.All.EqualTo(200));
            Assert.That(acme.Requests.Select(r => r.RequestLine.Split(" ")[1]), Is.EqualTo(new[] { "/item/0", "/item/2", "/item/4" }));
            Assert.That(globex.Requests.Select(r => r.RequestLine.Split(" ")[1]), Is.EqualTo(new[] { "/item/1", "/item/3", "/item/5" }));
            Assert.That(acme.Requests.Select(r => r.Values("X-Forwarded-Proto").Single()), Is.All.EqualTo("https"));
            Assert.That(lb.Snapshot.Listeners[0].Tls!.Counters[Core.Tls.TlsHandshakeResult.Ok], Is.EqualTo(1), "one connection carried every stream");
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task AlpnH2_AuthorityTheCertificateDoesNotCover_Gets421_TheConnectionKeepsServing(CancellationToken cancellationToken)
    {
        await using var acme = RecordingBackend.Start(_ => RecordingBackend.Ok("acme\n"));
        await using var globex = RecordingBackend.Start(_ => RecordingBackend.Ok("globex\n"));
        var certificate = TlsTerminationTests.Entry(Certs.Issue("acme", ["acme.test"]));
        await using var lb = await TestLb.StartAsync(Config(acme.Address, globex.Address, certificate), ConfigPath);
        var port = lb.EndPoint().Port;
        await using var client = await RawHttp2Client.ConnectTlsAsync(lb.EndPoint(), "acme.test", (_, c, _, _) => Certs.Validate(c as X509Certificate2), cancellationToken);

        await client.SendAsync(GetFrame(1, "globex.test:" + port, "/x"), cancellationToken);
        var misdirected = await client.StatusAsync(1, cancellationToken);
        await client.SendAsync(GetFrame(3, "ACME.test:" + port, "/y"), cancellationToken);
        var served = await client.StatusAsync(3, cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(misdirected, Is.EqualTo(421));
            Assert.That(globex.Requests, Is.Empty, "the misdirected stream never reached the other tenant's backend");
            Assert.That(served, Is.EqualTo(200), "the connection keeps serving the names its certificate covers");
            Assert.That(acme.Requests.Select(r => r.RequestLine.Split(" ")[1]), Is.EqualTo(new[] { "/y" }));
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task AlpnH2_SniNameServedByTheDefaultCertificate_IsNotMisdirected(CancellationToken cancellationToken)
    {
        // strict_sni = false: "other.test" gets the first certificate; the client accepted it for that name, so its
        // streams for that name are answered, as HTTP/1.1 requests on such a connection are.
        await using var acme = RecordingBackend.Start(_ => RecordingBackend.Ok("acme\n"));
        await using var globex = RecordingBackend.Start(_ => RecordingBackend.Ok("globex\n"));
        var certificate = TlsTerminationTests.Entry(Certs.Issue("acme", ["acme.test"]));
        await using var lb = await TestLb.StartAsync(Config(acme.Address, globex.Address, certificate), ConfigPath);
        var port = lb.EndPoint().Port;
        using var client = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, _, _, _) => true },
            ConnectCallback = async (_, token) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(lb.EndPoint(), token);
                return new NetworkStream(socket, ownsSocket: true);
            },
        });

        using var response = await client.SendAsync(Get($"https://other.test:{port}/z"), cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((int)response.StatusCode, Is.EqualTo(200));
            Assert.That(response.Version, Is.EqualTo(HttpVersion.Version20));
            Assert.That(globex.Requests.Select(r => r.RequestLine.Split(" ")[1]), Is.EqualTo(new[] { "/z" }));
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Http2ByDefault_AlpnNegotiatesH2_AndAnHttp11ClientStillGetsHttp11(CancellationToken cancellationToken)
    {
        await using var acme = RecordingBackend.Start(_ => RecordingBackend.Ok("acme\n"));
        await using var globex = RecordingBackend.Start();
        var certificate = TlsTerminationTests.Entry(Certs.Issue("acme", ["acme.test"]));
        await using var lb = await TestLb.StartAsync(Config(acme.Address, globex.Address, certificate, http2: ""), ConfigPath);
        var port = lb.EndPoint().Port;
        using var h2 = Client(lb.EndPoint(), HttpVersion.Version20, HttpVersionPolicy.RequestVersionExact);
        using var h1 = Client(lb.EndPoint(), HttpVersion.Version11, HttpVersionPolicy.RequestVersionExact);

        using var overH2 = await h2.GetAsync($"https://acme.test:{port}/2", cancellationToken);
        using var overH1 = await h1.GetAsync($"https://acme.test:{port}/1", cancellationToken);

        Assert.That((overH2.Version, (int)overH2.StatusCode), Is.EqualTo((HttpVersion.Version20, 200)));
        Assert.That((overH1.Version, (int)overH1.StatusCode), Is.EqualTo((HttpVersion.Version11, 200)));
        Assert.That(await overH1.Content.ReadAsStringAsync(cancellationToken), Is.EqualTo("acme\n"));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Http2Off_AlpnOffersOnlyHttp11_ClientFallsBack(CancellationToken cancellationToken)
    {
        await using var acme = RecordingBackend.Start(_ => RecordingBackend.Ok("acme\n"));
        await using var globex = RecordingBackend.Start();
        var certificate = TlsTerminationTests.Entry(Certs.Issue("acme", ["acme.test"]));
        await using var lb = await TestLb.StartAsync(Config(acme.Address, globex.Address, certificate, http2: "http2 = false"), ConfigPath);
        var port = lb.EndPoint().Port;
        using var client = Client(lb.EndPoint(), HttpVersion.Version20, HttpVersionPolicy.RequestVersionOrLower);

        using var response = await client.GetAsync($"https://acme.test:{port}/", cancellationToken);

        Assert.That((response.Version, (int)response.StatusCode), Is.EqualTo((HttpVersion.Version11, 200)));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Curl_Http2OverTls_NegotiatesH2_ReachesBackend(CancellationToken cancellationToken)
    {
        var curl = ExternalTool.Require("curl", "curl");
        await using var acme = RecordingBackend.Start(_ => RecordingBackend.Ok("acme\n"));
        await using var globex = RecordingBackend.Start();
        var certificate = TlsTerminationTests.Entry(Certs.Issue("acme", ["acme.test"]));
        await using var lb = await TestLb.StartAsync(Config(acme.Address, globex.Address, certificate), ConfigPath);
        var port = lb.EndPoint().Port;

        var result = await ExternalTool.RunAsync(
            curl,
            ["-sS", "--fail", "--http2", "--cacert", Certs.CaFile, "--resolve", $"acme.test:{port}:127.0.0.1", "-w", "|%{http_version}", $"https://acme.test:{port}/a", $"https://acme.test:{port}/b"],
            null,
            cancellationToken);

        Assert.That((result.ExitCode, result.Output), Is.EqualTo((0, "acme\n|2acme\n|2")), result.Errors);
        Assert.That(acme.Requests.Select(r => r.RequestLine.Split(" ")[1]), Is.EqualTo(new[] { "/a", "/b" }));
    }
}
