using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using LoadBalancer.Core.Metrics;
using LoadBalancer.Core.Tls;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>TLS termination on an http listener: real clients (.NET, openssl, curl), certificates made by the test.</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class TlsTerminationTests : TlsFixture
{
    internal static string Config(string backend, string certificates, string tlsExtra = "", string listenerExtra = "") => $$"""
        [[listeners]]
        name = "web"
        listen = "127.0.0.1:0"
        tls = { certificates = [ {{certificates}} ]{{tlsExtra}} }
        {{listenerExtra}}

        [[tenants]]
        name = "a"
        match = ["a.test", "x.b.test"]
        pool = "p"

        [[pools]]
        name = "p"
        backends = [ { address = "{{backend}}" } ]
        """;

    internal static string Entry((string Cert, string Key, X509Certificate2 Leaf) issued) => $"{{ cert = \"{issued.Cert}\", key = \"{issued.Key}\" }}";

    private SslClientAuthenticationOptions ClientOptions(string? serverName, X509Certificate2? clientCertificate = null) => new()
    {
        TargetHost = serverName ?? "",
        RemoteCertificateValidationCallback = (_, certificate, _, _) => Certs.Validate(certificate as X509Certificate2 ?? (certificate is null ? null : new X509Certificate2(certificate))),
        ApplicationProtocols = [SslApplicationProtocol.Http11],
        ClientCertificates = clientCertificate is null ? null : [clientCertificate],
    };

    private static long Handshakes(TestLb lb, TlsHandshakeResult result) => lb.Snapshot.Listeners[0].Tls!.Counters[result];

    private static string Subject(RawHttpConnection connection) => new X509Certificate2(connection.Tls!.RemoteCertificate!).GetNameInfo(X509NameType.SimpleName, false);

    [Test]
    [CancelAfter(20_000)]
    public async Task HttpClient_Https_ReachesBackend_WithForwardedProtoHttps(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(Config(backend.Address, Entry(Certs.Issue("a", ["a.test"]))), ConfigPath);
        var endPoint = lb.EndPoint();
        using var client = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, c, _, _) => Certs.Validate(c as X509Certificate2) },
            ConnectCallback = async (_, token) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(endPoint, token);
                return new NetworkStream(socket, ownsSocket: true);
            },
        });

        for (var i = 0; i < 3; i++)
        {
            using var response = await client.GetAsync($"https://a.test:{endPoint.Port}/hello", cancellationToken);
            Assert.That((int)response.StatusCode, Is.EqualTo(200));
            Assert.That(await response.Content.ReadAsStringAsync(cancellationToken), Is.EqualTo("ok"));
        }

        var forwarded = backend.Requests.Select(r => r.Values("X-Forwarded-Proto").Single()).ToArray();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(forwarded, Is.EqualTo(new[] { "https", "https", "https" }));
            Assert.That(Handshakes(lb, TlsHandshakeResult.Ok), Is.EqualTo(1), "one keep-alive connection for three requests");
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Sni_ExactThenOneLabelWildcardThenFirst(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        var certificates = string.Join(", ", Entry(Certs.Issue("a", ["a.test"])), Entry(Certs.Issue("w", ["*.b.test"], rsa: true)), Entry(Certs.Issue("c", ["c.test"])));
        await using var lb = await TestLb.StartAsync(Config(backend.Address, certificates), ConfigPath);

        async Task<(string Subject, SslProtocols Protocol, string Alpn)> HandshakeAsync(string? name)
        {
            await using var connection = await RawHttpConnection.ConnectTlsAsync(lb.EndPoint(), ClientOptions(name), cancellationToken);
            return (Subject(connection), connection.Tls!.SslProtocol, connection.Tls.NegotiatedApplicationProtocol.ToString());
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(await HandshakeAsync("a.test"), Is.EqualTo(("a.test", SslProtocols.Tls13, "http/1.1")));
            Assert.That((await HandshakeAsync("C.TEST")).Subject, Is.EqualTo("c.test"));
            Assert.That((await HandshakeAsync("x.b.test")).Subject, Is.EqualTo("*.b.test"));
            Assert.That((await HandshakeAsync("y.x.b.test")).Subject, Is.EqualTo("a.test"), "a wildcard covers one label only: the first certificate");
            Assert.That((await HandshakeAsync("other.test")).Subject, Is.EqualTo("a.test"));
            Assert.That((await HandshakeAsync(null)).Subject, Is.EqualTo("a.test"), "no SNI counts as no match");
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task StrictSni_UnknownName_HandshakeFails_CountedNoCertificate_KnownNameServed(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(Config(backend.Address, Entry(Certs.Issue("a", ["a.test"])), ", strict_sni = true"), ConfigPath);

        Assert.ThrowsAsync(Is.InstanceOf<AuthenticationException>().Or.InstanceOf<IOException>(), async () =>
        {
            await using var _ = await RawHttpConnection.ConnectTlsAsync(lb.EndPoint(), ClientOptions("other.test"), cancellationToken);
        });
        Assert.ThrowsAsync(Is.InstanceOf<AuthenticationException>().Or.InstanceOf<IOException>(), async () =>
        {
            await using var _ = await RawHttpConnection.ConnectTlsAsync(lb.EndPoint(), ClientOptions(null), cancellationToken);
        });
        await using var good = await RawHttpConnection.ConnectTlsAsync(lb.EndPoint(), ClientOptions("a.test"), cancellationToken);
        await good.SendAsync("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n", cancellationToken);
        Assert.That((await good.ReadResponseAsync(cancellationToken))!.Status, Is.EqualTo(200));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Handshakes(lb, TlsHandshakeResult.NoCertificate), Is.EqualTo(2));
            Assert.That(Handshakes(lb, TlsHandshakeResult.Ok), Is.EqualTo(1));
            Assert.That(PrometheusWriter.Write(lb.Snapshot), Does.Contain("lb_tls_handshakes_total{listener=\"web\",result=\"no_certificate\"} 2"));
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task ClientHello_ByteByByte_HandshakeAndRequestSucceed(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(Config(backend.Address, Entry(Certs.Issue("a", ["a.test"]))), ConfigPath);

        await using var connection = await RawHttpConnection.ConnectTlsAsync(lb.EndPoint(), ClientOptions("a.test"), cancellationToken, byteByByte: true);
        await connection.SendAsync("GET /slowly HTTP/1.1\r\nHost: a.test\r\n\r\n", cancellationToken);
        var response = await connection.ReadResponseAsync(cancellationToken);

        Assert.That((response!.Status, Subject(connection)), Is.EqualTo((200, "a.test")));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task KeepAlive_RecordsTogetherInOneSegment_OrByteByByte_EveryRequestAnsweredInOrder(CancellationToken cancellationToken)
    {
        // lb hands SslStream one record end per read and keeps the rest, so that between requests it can wait on the
        // socket itself; records that arrive together, or a header and a body split over many segments, must all
        // still be read, in order, and none waited for.
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(Config(backend.Address, Entry(Certs.Issue("a", ["a.test"]))), ConfigPath);
        await using var connection = await RawHttpConnection.ConnectTlsAsync(lb.EndPoint(), ClientOptions("a.test"), cancellationToken);

        static string Get(string path) => $"GET {path} HTTP/1.1\r\nHost: a.test\r\n\r\n";
        await connection.SendRecordsAsync([Get("/1"), Get("/2"), Get("/3")], byteByByte: false, cancellationToken);
        var statuses = new List<int>();
        for (var i = 0; i < 3; i++)
        {
            statuses.Add((await connection.ReadResponseAsync(cancellationToken))!.Status);
        }

        await connection.SendRecordsAsync([Get("/4"), Get("/5")], byteByByte: true, cancellationToken);
        statuses.Add((await connection.ReadResponseAsync(cancellationToken))!.Status);
        statuses.Add((await connection.ReadResponseAsync(cancellationToken))!.Status);
        await connection.SendAsync(Get("/6"), cancellationToken);
        statuses.Add((await connection.ReadResponseAsync(cancellationToken))!.Status);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(statuses, Is.EqualTo(new[] { 200, 200, 200, 200, 200, 200 }));
            Assert.That(backend.Requests.Select(r => r.RequestLine), Is.EqualTo(new[] { "/1", "/2", "/3", "/4", "/5", "/6" }.Select(p => $"GET {p} HTTP/1.1")));
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task PlainHttp_ToTlsPort_Gets400InPlainText_ThenClose_CountedFailed(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(Config(backend.Address, Entry(Certs.Issue("a", ["a.test"]))), ConfigPath);

        await using var plain = await lb.ConnectAsync(cancellationToken);
        await plain.SendAsync("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n", cancellationToken);
        var response = await plain.ReadResponseAsync(cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response!.Status, Is.EqualTo(400));
            Assert.That(response.Header("Connection"), Is.EqualTo("close"));
            Assert.That(response.BodyText, Does.Contain("this port expects TLS (https://), not plain HTTP"));
            Assert.That(await plain.IsClosedByPeerAsync(cancellationToken), Is.True);
            Assert.That(backend.Requests, Is.Empty);
            Assert.That(Handshakes(lb, TlsHandshakeResult.Failed), Is.EqualTo(1));
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Handshake_ClientStallsMidHello_ClosedAfterHandshakeTimeout_CountedTimeout(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(Config(backend.Address, Entry(Certs.Issue("a", ["a.test"])), ", handshake_timeout = \"300ms\""), ConfigPath);

        await using var stalled = await lb.ConnectAsync(cancellationToken);
        await stalled.SendAsync(new byte[] { 22, 3, 1, 0, 200, 1 }, cancellationToken); // a record header promising 200 bytes, then one
        var started = System.Diagnostics.Stopwatch.StartNew();

        Assert.That(await stalled.IsClosedByPeerAsync(cancellationToken), Is.True);
        Assert.That(started.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)));
        Assert.That(Handshakes(lb, TlsHandshakeResult.Timeout), Is.EqualTo(1));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task OpenSsl_SessionResumed_CountedResumed(CancellationToken cancellationToken)
    {
        var openssl = ExternalTool.Require("openssl", "openssl");
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(Config(backend.Address, Entry(Certs.Issue("a", ["a.test"]))), ConfigPath);
        var session = Certs.PathOf("session.pem");
        var connect = $"127.0.0.1:{lb.EndPoint().Port}";
        const string request = "GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n";

        foreach (var version in new[] { "-tls1_3", "-tls1_2" })
        {
            File.Delete(session);
            var first = await ExternalTool.RunAsync(openssl, ["s_client", version, "-connect", connect, "-servername", "a.test", "-CAfile", Certs.CaFile, "-verify_return_error", "-ign_eof", "-sess_out", session], request, cancellationToken);
            var second = await ExternalTool.RunAsync(openssl, ["s_client", version, "-connect", connect, "-servername", "a.test", "-CAfile", Certs.CaFile, "-verify_return_error", "-ign_eof", "-sess_in", session], request, cancellationToken);
            using (Assert.EnterMultipleScope())
            {
                Assert.That(first.Output, Does.Contain("HTTP/1.1 200 OK").And.Contain("New, TLSv1."), first.Output + first.Errors);
                Assert.That(second.Output, Does.Contain("HTTP/1.1 200 OK").And.Contain("Reused, TLSv1."), second.Output + second.Errors);
            }
        }

        Assert.That((Handshakes(lb, TlsHandshakeResult.Ok), Handshakes(lb, TlsHandshakeResult.Resumed)), Is.EqualTo((2L, 2L)));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task OpenSsl_NameWithEcdsaAndRsa_RsaOnlyClientGetsRsa_OthersGetEcdsa(CancellationToken cancellationToken)
    {
        var openssl = ExternalTool.Require("openssl", "openssl");
        await using var backend = RecordingBackend.Start();
        var certificates = string.Join(", ", Entry(Certs.Issue("rsa", ["a.test"], rsa: true)), Entry(Certs.Issue("ec", ["a.test"])));
        await using var lb = await TestLb.StartAsync(Config(backend.Address, certificates), ConfigPath);
        var connect = $"127.0.0.1:{lb.EndPoint().Port}";

        var rsaOnly = await ExternalTool.RunAsync(openssl, ["s_client", "-connect", connect, "-servername", "a.test", "-CAfile", Certs.CaFile, "-sigalgs", "RSA-PSS+SHA256:RSA+SHA256"], "", cancellationToken);
        var any = await ExternalTool.RunAsync(openssl, ["s_client", "-connect", connect, "-servername", "a.test", "-CAfile", Certs.CaFile], "", cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rsaOnly.Output, Does.Contain("Server public key is 2048 bit"), rsaOnly.Output + rsaOnly.Errors);
            Assert.That(any.Output, Does.Contain("Server public key is 256 bit"), any.Output + any.Errors);
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Curl_CaCertAndResolve_GetsBackendAnswer(CancellationToken cancellationToken)
    {
        var curl = ExternalTool.Require("curl", "curl");
        await using var backend = RecordingBackend.Start(_ => RecordingBackend.Ok("from backend"));
        await using var lb = await TestLb.StartAsync(Config(backend.Address, Entry(Certs.Issue("a", ["a.test"]))), ConfigPath);
        var port = lb.EndPoint().Port;

        var result = await ExternalTool.RunAsync(curl, ["-sS", "--fail", "--cacert", Certs.CaFile, "--resolve", $"a.test:{port}:127.0.0.1", $"https://a.test:{port}/x", "https://a.test:" + port + "/y"], null, cancellationToken);

        Assert.That((result.ExitCode, result.Output), Is.EqualTo((0, "from backendfrom backend")), result.Errors);
        Assert.That(backend.Requests.Select(r => r.Values("X-Forwarded-Proto").Single()), Is.EqualTo(new[] { "https", "https" }));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task ProxyHeaderThenTls_ClientAddressFromHeader_HandshakeSucceeds(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(Config(backend.Address, Entry(Certs.Issue("a", ["a.test"])), listenerExtra: "accept_proxy_protocol = true"), ConfigPath);

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(lb.EndPoint(), cancellationToken);
        var network = new NetworkStream(socket, ownsSocket: true);
        await network.WriteAsync("PROXY TCP4 203.0.113.7 127.0.0.1 5555 443\r\n"u8.ToArray(), cancellationToken);
        await using var tls = new SslStream(network);
        await tls.AuthenticateAsClientAsync(ClientOptions("a.test"), cancellationToken);
        await tls.WriteAsync("GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"u8.ToArray(), cancellationToken);
        var text = await new StreamReader(tls).ReadToEndAsync(cancellationToken);

        Assert.That(text, Does.StartWith("HTTP/1.1 200"));
        Assert.That(backend.Requests.Single().Values("X-Forwarded-For").Single(), Is.EqualTo("203.0.113.7"));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task ClientAuth_Required_WithoutCertificateRefused_WithCertificateServed(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        var clientCertificate = Certs.IssueClient("client");
        await using var lb = await TestLb.StartAsync(Config(backend.Address, Entry(Certs.Issue("a", ["a.test"])), ", client_auth = { ca = \"ca.pem\", required = true }"), ConfigPath);

        async Task<int?> GetAsync(X509Certificate2? certificate)
        {
            try
            {
                await using var connection = await RawHttpConnection.ConnectTlsAsync(lb.EndPoint(), ClientOptions("a.test", certificate), cancellationToken);
                await connection.SendAsync("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n", cancellationToken);
                return (await connection.ReadResponseAsync(cancellationToken))?.Status;
            }
            catch (Exception e) when (e is AuthenticationException or IOException)
            {
                return null;
            }
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(await GetAsync(null), Is.Null, "no client certificate: refused");
            Assert.That(await GetAsync(clientCertificate), Is.EqualTo(200));
            Assert.That(backend.Requests, Has.Count.EqualTo(1));
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task OpenSsl_Tls12CbcOnlyClient_Refused_CbcAfterGcmClientGetsGcm(CancellationToken cancellationToken)
    {
        var openssl = ExternalTool.Require("openssl", "openssl");
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(Config(backend.Address, Entry(Certs.Issue("a", ["a.test"]))), ConfigPath);
        var connect = $"127.0.0.1:{lb.EndPoint().Port}";
        const string request = "GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n";

        var cbcOnly = await ExternalTool.RunAsync(openssl, ["s_client", "-tls1_2", "-connect", connect, "-servername", "a.test", "-CAfile", Certs.CaFile, "-ign_eof", "-cipher", "ECDHE-ECDSA-AES128-SHA"], request, cancellationToken);
        var cbcFirst = await ExternalTool.RunAsync(openssl, ["s_client", "-tls1_2", "-connect", connect, "-servername", "a.test", "-CAfile", Certs.CaFile, "-ign_eof", "-cipher", "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES128-GCM-SHA256"], request, cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(cbcOnly.Output, Does.Not.Contain("HTTP/1.1 200"), cbcOnly.Output);
            Assert.That(cbcFirst.Output, Does.Contain("ECDHE-ECDSA-AES128-GCM-SHA256").And.Contain("HTTP/1.1 200"), cbcFirst.Output + cbcFirst.Errors);
            Assert.That(Handshakes(lb, TlsHandshakeResult.Failed), Is.EqualTo(1));
        }
    }
}
