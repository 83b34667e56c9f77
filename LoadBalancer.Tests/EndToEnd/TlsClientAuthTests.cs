using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using LoadBalancer.Core.Tls;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>
/// mTLS on an http listener (<c>client_auth</c>): the verified certificate's subject and SHA-256 reach the backend as
/// X-Client-Cert-Subject / X-Client-Cert-Sha256, and clients' own copies of those fields never do. Real clients: curl
/// and openssl s_client with client certificates issued by the test CA.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class TlsClientAuthTests : TlsFixture
{
    private const string Forged = "-H\nX-Client-Cert-Subject: CN=admin\n-H\nx-client-cert-sha256: 00";

    private static string Sha256(X509Certificate2 certificate) => Convert.ToHexStringLower(SHA256.HashData(certificate.RawData));

    private static long Handshakes(TestLb lb, TlsHandshakeResult result) => lb.Snapshot.Listeners[0].Tls!.Counters[result];

    private async Task<(int ExitCode, string Output, string Errors)> CurlAsync(int port, bool withCertificate, CancellationToken cancellationToken)
    {
        var curl = ExternalTool.Require("curl", "curl");
        List<string> arguments = ["-sS", "--fail", "--cacert", Certs.CaFile, "--resolve", $"a.test:{port}:127.0.0.1", .. Forged.Split('\n')];
        if (withCertificate)
        {
            arguments.AddRange(["--cert", Certs.PathOf("client.pem"), "--key", Certs.PathOf("client.key")]);
        }

        arguments.Add($"https://a.test:{port}/x");
        return await ExternalTool.RunAsync(curl, arguments, null, cancellationToken);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Curl_Required_CertificateForwardedAsSubjectAndSha256_ClientCopiesStripped_MissingRefused(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start(_ => RecordingBackend.Ok("from backend"));
        var client = Certs.IssueClient("client");
        var config = TlsTerminationTests.Config(backend.Address, TlsTerminationTests.Entry(Certs.Issue("a", ["a.test"])), ", client_auth = { ca = \"ca.pem\", required = true }");
        await using var lb = await TestLb.StartAsync(config, ConfigPath);
        var port = lb.EndPoint().Port;

        var served = await CurlAsync(port, withCertificate: true, cancellationToken);
        var refused = await CurlAsync(port, withCertificate: false, cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((served.ExitCode, served.Output), Is.EqualTo((0, "from backend")), served.Errors);
            Assert.That(refused.ExitCode, Is.Not.Zero, "no client certificate under required = true");
            Assert.That(backend.Requests, Has.Count.EqualTo(1));
            var request = backend.Requests.Single();
            Assert.That(request.Values(ClientCertificateHeaders.SubjectName).ToArray(), Is.EqualTo(new[] { "CN=client" }));
            Assert.That(request.Values(ClientCertificateHeaders.Sha256Name).ToArray(), Is.EqualTo(new[] { Sha256(client) }));
            Assert.That(Handshakes(lb, TlsHandshakeResult.Failed), Is.EqualTo(1));
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task OpenSsl_Optional_WithoutCertificateServedWithNoFields_WithCertificateForwarded(CancellationToken cancellationToken)
    {
        var openssl = ExternalTool.Require("openssl", "openssl");
        await using var backend = RecordingBackend.Start();
        var client = Certs.IssueClient("client");
        var config = TlsTerminationTests.Config(backend.Address, TlsTerminationTests.Entry(Certs.Issue("a", ["a.test"])), ", client_auth = { ca = \"ca.pem\", required = false }");
        await using var lb = await TestLb.StartAsync(config, ConfigPath);
        const string request = "GET / HTTP/1.1\r\nHost: a.test\r\nX-Client-Cert-Subject: CN=admin\r\nX-Client-Cert-Sha256: 00\r\nConnection: close\r\n\r\n";
        string[] common = ["s_client", "-connect", $"127.0.0.1:{lb.EndPoint().Port}", "-servername", "a.test", "-CAfile", Certs.CaFile, "-ign_eof", "-quiet"];

        var without = await ExternalTool.RunAsync(openssl, common, request, cancellationToken);
        var with = await ExternalTool.RunAsync(openssl, [.. common, "-cert", Certs.PathOf("client.pem"), "-key", Certs.PathOf("client.key")], request, cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(without.Output, Does.Contain("HTTP/1.1 200"), without.Output + without.Errors);
            Assert.That(with.Output, Does.Contain("HTTP/1.1 200"), with.Output + with.Errors);
            Assert.That(backend.Requests, Has.Count.EqualTo(2));
            var first = backend.Requests.First();
            Assert.That(first.Values(ClientCertificateHeaders.SubjectName), Is.Empty, "no certificate: no field, and the client's copy is gone");
            Assert.That(first.Values(ClientCertificateHeaders.Sha256Name), Is.Empty);
            var second = backend.Requests.Last();
            Assert.That(second.Values(ClientCertificateHeaders.SubjectName).ToArray(), Is.EqualTo(new[] { "CN=client" }));
            Assert.That(second.Values(ClientCertificateHeaders.Sha256Name).ToArray(), Is.EqualTo(new[] { Sha256(client) }));
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task HttpClient_Http2_CertificateForwardedOnEveryStream_ClientCopiesStripped(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        var client = Certs.IssueClient("client");
        var config = TlsTerminationTests.Config(backend.Address, TlsTerminationTests.Entry(Certs.Issue("a", ["a.test"])), ", client_auth = { ca = \"ca.pem\", required = true }", listenerExtra: "http2 = true");
        await using var lb = await TestLb.StartAsync(config, ConfigPath);
        var endPoint = lb.EndPoint();
        using var http = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            SslOptions = new System.Net.Security.SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, c, _, _) => Certs.Validate(c as X509Certificate2),
                ClientCertificates = [client],
            },
            ConnectCallback = async (_, token) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(endPoint, token);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
        });

        for (var i = 0; i < 2; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"https://a.test:{endPoint.Port}/") { Version = System.Net.HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
            request.Headers.TryAddWithoutValidation("X-Client-Cert-Subject", "CN=admin");
            using var response = await http.SendAsync(request, cancellationToken);
            Assert.That(((int)response.StatusCode, response.Version), Is.EqualTo((200, System.Net.HttpVersion.Version20)));
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(backend.Requests.Select(r => string.Join("|", r.Values(ClientCertificateHeaders.SubjectName))), Is.EqualTo(new[] { "CN=client", "CN=client" }));
            Assert.That(backend.Requests.Select(r => string.Join("|", r.Values(ClientCertificateHeaders.Sha256Name))), Is.All.EqualTo(Sha256(client)));
            Assert.That(Handshakes(lb, TlsHandshakeResult.Ok), Is.EqualTo(1), "two streams on one connection");
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task PlainListener_ClientCopiesOfCertificateFields_Stripped(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(TestConfigs.OneTenant(backend.Address));
        await using var connection = await RawHttpConnection.ConnectAsync(lb.EndPoint(), cancellationToken);

        await connection.SendAsync("GET / HTTP/1.1\r\nHost: acme.example.com\r\nx-client-cert-subject: CN=admin\r\nX-CLIENT-CERT-SHA256: 00\r\nX-Other: kept\r\n\r\n", cancellationToken);
        var response = await connection.ReadResponseAsync(cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response?.Status, Is.EqualTo(200));
            var recorded = backend.Requests.Single();
            Assert.That(recorded.Head, Does.Not.Contain("cert-s").IgnoreCase);
            Assert.That(recorded.Values("X-Other").Single(), Is.EqualTo("kept"));
        }
    }

    [Test]
    public void Lines_NonAsciiSubject_EscapedAsUtf8HexPairs()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName("CN=Zoë\u0007, O=Example"), key, HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));

        var text = System.Text.Encoding.ASCII.GetString(ClientCertificateHeaders.Lines(certificate));

        Assert.That(text, Is.EqualTo($"X-Client-Cert-Subject: CN=Zo\\C3\\AB\\07, O=Example\r\nX-Client-Cert-Sha256: {Sha256(certificate)}\r\n"));
    }
}
