using System.Net;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd.Http2;

/// <summary>
/// An h2 pool over TLS: lb verifies the backend's certificate against the pool's <c>tls.ca</c> for its <c>sni</c>, offers
/// ALPN h2, and speaks HTTP/2 on the negotiated connection (Kestrel as the backend, HTTP/2 only, so nothing but a
/// successful ALPN h2 gets an answer). A certificate for another name is refused, so no request reaches that backend.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class Http2BackendTlsTests : TlsFixture
{
    private static string Config(string backend, string sni) => $$"""
        [[listeners]]
        name = "web"
        listen = "127.0.0.1:0"
        http2 = true

        [[tenants]]
        name = "acme"
        match = ["127.0.0.1"]
        pool = "p"

        [[pools]]
        name = "p"
        protocol = "h2"
        tls = { sni = "{{sni}}", ca = "ca.pem" }
        backends = [ { address = "{{backend}}" } ]
        """;

    private static HttpClient Client() => new(new SocketsHttpHandler { UseProxy = false })
    {
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
    };

    [Test]
    [CancelAfter(30_000)]
    public async Task TlsH2Pool_VerifiedCertificate_NegotiatesAlpnH2_AndServes(CancellationToken cancellationToken)
    {
        var (cert, key, _) = Certs.Issue("b", ["b.test"]);
        await using var backend = await KestrelH2Backend.StartAsync(certificate: Certs.LoadWithKey(cert, key));
        await using var lb = await TestLb.StartAsync(Config(backend.Address, "b.test"), ConfigPath);
        using var client = Client();

        using var first = await client.GetAsync($"http://{lb.EndPoint()}/hello", cancellationToken);
        var body = await first.Content.ReadAsStringAsync(cancellationToken);
        using var second = await client.GetAsync($"http://{lb.EndPoint()}/hello", cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((int)first.StatusCode, Is.EqualTo(200));
            Assert.That((int)second.StatusCode, Is.EqualTo(200));
            Assert.That(body, Does.StartWith("hello over HTTP/2"));
            Assert.That(backend.Alpn, Is.EqualTo(new[] { "h2", "h2" }), "ALPN h2 on lb's TLS connection to the backend");
            Assert.That(backend.Connections.Distinct().Count(), Is.EqualTo(1), "both streams on one TLS connection");
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task TlsH2Pool_CertificateForAnotherName_IsRefused_AndNothingReachesTheBackend(CancellationToken cancellationToken)
    {
        var (cert, key, _) = Certs.Issue("other", ["other.test"]);
        await using var backend = await KestrelH2Backend.StartAsync(certificate: Certs.LoadWithKey(cert, key));
        await using var lb = await TestLb.StartAsync(Config(backend.Address, "b.test"), ConfigPath);
        using var client = Client();

        using var response = await client.GetAsync($"http://{lb.EndPoint()}/hello", cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((int)response.StatusCode, Is.EqualTo(502), "the backend's certificate does not cover b.test");
            Assert.That(backend.Protocols, Is.Empty, "no request was sent over the unverified connection");
        }
    }
}
