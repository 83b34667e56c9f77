using LoadBalancer.Core.Metrics;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>TLS to backends (a pool's <c>tls</c>): in-test HTTPS backends with certificates from the test's CA.</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class BackendTlsTests : TlsFixture
{
    private static string Config(string backends, string tls) => $$"""
        [[listeners]]
        name = "web"
        listen = "127.0.0.1:0"

        [[tenants]]
        name = "a"
        match = ["a.test", "b.test"]
        pool = "p"

        [[pools]]
        name = "p"
        backends = [ {{backends}} ]
        tls = {{tls}}
        """;

    private static string Backend(TlsHttpBackend backend) => $"{{ address = \"{backend.Address}\" }}";

    private TlsHttpBackend StartBackend(string name, string[] dnsNames, TestCertificates? authority = null, string[]? ipAddresses = null, bool requireClientCertificate = false)
    {
        var issuer = authority ?? Certs;
        var (cert, key, _) = issuer.Issue(name, dnsNames, ipAddresses: ipAddresses);
        return TlsHttpBackend.Start(name, issuer.LoadWithKey(cert, key), requireClientCertificate);
    }

    private static async Task<(int Status, string Body)> GetAsync(RawHttpConnection connection, CancellationToken cancellationToken, string host = "a.test")
    {
        await connection.SendAsync($"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n", cancellationToken);
        var response = (await connection.ReadResponseAsync(cancellationToken))!;
        return (response.Status, response.BodyText);
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Sni_Verified_SentAsSni_ConnectionReusedForManyRequests(CancellationToken cancellationToken)
    {
        await using var backend = StartBackend("b1", ["api.internal.test"]);
        await using var lb = await TestLb.StartAsync(Config(Backend(backend), "{ sni = \"api.internal.test\", ca = \"ca.pem\" }"), ConfigPath);
        await using var client = await lb.ConnectAsync(cancellationToken);

        for (var i = 0; i < 5; i++)
        {
            Assert.That(await GetAsync(client, cancellationToken), Is.EqualTo((200, "b1\n")));
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(backend.ServerNames, Is.EqualTo(new[] { "api.internal.test" }));
            Assert.That(backend.Handshakes, Is.EqualTo(1), "one TLS handshake for five requests");
            Assert.That(backend.Requests, Is.EqualTo(5));
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task NoSni_IpLiteralBackend_RequestHostCheckedAndSent_OtherHost502Counted(CancellationToken cancellationToken)
    {
        // The certificate names a.test only (not the backend's address): the request's Host is the name checked.
        await using var backend = StartBackend("b1", ["a.test"]);
        await using var lb = await TestLb.StartAsync(Config(Backend(backend), "{ ca = \"ca.pem\" }"), ConfigPath);
        await using var client = await lb.ConnectAsync(cancellationToken);

        Assert.That(await GetAsync(client, cancellationToken, "a.test:8443"), Is.EqualTo((200, "b1\n")));
        Assert.That(await GetAsync(client, cancellationToken, "A.TEST"), Is.EqualTo((200, "b1\n")));

        // a.test's idle connection is there, but b.test may not have it: a new handshake names b.test and fails.
        await using var other = await lb.ConnectAsync(cancellationToken);
        Assert.That((await GetAsync(other, cancellationToken, "b.test")).Status, Is.EqualTo(502));

        var pool = lb.Snapshot.Pools["p"];
        var metrics = PrometheusWriter.Write(lb.Snapshot);
        using (Assert.EnterMultipleScope())
        {
            // The server side of b.test's handshake ends before lb checks the certificate, so it records the name too.
            Assert.That(backend.ServerNames, Is.EqualTo(new[] { "a.test", "b.test" }), "the Host without its port, sent as SNI; one handshake per name");
            Assert.That(backend.Requests, Is.EqualTo(2), "b.test's request never went over a.test's connection");
            Assert.That(pool.Backends[0].TlsFailures, Is.EqualTo(1));
            Assert.That(metrics, Does.Contain($"lb_backend_tls_failures_total{{pool=\"p\",backend=\"{backend.Address}\"}} 1"));
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task NoSni_IpLiteralBackend_ConnectionsReusedOnlyForTheirHost(CancellationToken cancellationToken)
    {
        await using var backend = StartBackend("b1", ["a.test", "b.test"]);
        await using var lb = await TestLb.StartAsync(Config(Backend(backend), "{ ca = \"ca.pem\" }"), ConfigPath);
        await using var client = await lb.ConnectAsync(cancellationToken);

        foreach (var host in new[] { "a.test", "b.test", "a.test", "b.test", "a.test" })
        {
            Assert.That(await GetAsync(client, cancellationToken, host), Is.EqualTo((200, "b1\n")), host);
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(backend.ServerNames, Is.EqualTo(new[] { "a.test", "b.test" }), "one connection per (backend, SNI)");
            Assert.That(backend.Handshakes, Is.EqualTo(2));
            Assert.That(backend.Requests, Is.EqualTo(5));
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task BackendByName_NoSni_NameIsVerifiedAndSentAsSni(CancellationToken cancellationToken)
    {
        // The certificate names only the host name (no IP address): the address it resolved to would not verify.
        await using var backend = StartBackend("b1", ["api.internal.test"]);
        await using var dns = DnsResponder.Start();
        dns.Set("api.internal.test", 60, System.Net.IPAddress.Loopback);
        var port = ((System.Net.IPEndPoint)System.Net.IPEndPoint.Parse(backend.Address)).Port;
        var toml = $"[dns]\nservers = [\"{dns.Server}\"]\n\n" + Config($"{{ address = \"api.internal.test:{port}\" }}", "{ ca = \"ca.pem\" }");
        await using var lb = await TestLb.StartAsync(toml, ConfigPath);
        await using var client = await lb.ConnectAsync(cancellationToken);

        Assert.That(await GetAsync(client, cancellationToken), Is.EqualTo((200, "b1\n")));
        Assert.That(backend.ServerNames, Is.EqualTo(new[] { "api.internal.test" }));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task VerificationFails_NextBackendServes_FailureCounted(CancellationToken cancellationToken)
    {
        using var stranger = new TestCertificates("some other CA");
        await using var untrusted = StartBackend("untrusted", ["api.internal.test"], authority: stranger);
        await using var wrongName = StartBackend("wrong-name", ["other.internal.test"]);
        await using var good = StartBackend("good", ["api.internal.test"]);
        var backends = string.Join(", ", Backend(untrusted), Backend(wrongName), Backend(good));
        await using var lb = await TestLb.StartAsync(Config(backends, "{ sni = \"api.internal.test\", ca = \"ca.pem\" }") + "\nretries = { attempts = 2 }", ConfigPath);
        await using var client = await lb.ConnectAsync(cancellationToken);

        var answers = new List<(int, string)>();
        for (var i = 0; i < 3; i++)
        {
            answers.Add(await GetAsync(client, cancellationToken));
        }

        var pool = lb.Snapshot.Pools["p"];
        var metrics = PrometheusWriter.Write(lb.Snapshot);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(answers, Is.All.EqualTo((200, "good\n")), "a backend that fails verification is skipped like an unreachable one");
            Assert.That(pool.Backends[0].TlsFailures, Is.GreaterThanOrEqualTo(1));
            Assert.That(pool.Backends[1].TlsFailures, Is.GreaterThanOrEqualTo(1));
            Assert.That(pool.Backends[0].ConnectFailures, Is.EqualTo(pool.Backends[0].TlsFailures));
            Assert.That(untrusted.Requests + wrongName.Requests, Is.Zero, "never a request over an unverified connection");
            Assert.That(metrics, Does.Contain($"lb_backend_tls_failures_total{{pool=\"p\",backend=\"{untrusted.Address}\"}}"));
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task VerificationFails_OnlyBackend_502(CancellationToken cancellationToken)
    {
        using var stranger = new TestCertificates("some other CA");
        await using var untrusted = StartBackend("untrusted", ["api.internal.test"], authority: stranger);
        await using var lb = await TestLb.StartAsync(Config(Backend(untrusted), "{ sni = \"api.internal.test\", ca = \"ca.pem\" }"), ConfigPath);
        await using var client = await lb.ConnectAsync(cancellationToken);

        Assert.That((await GetAsync(client, cancellationToken)).Status, Is.EqualTo(502));
        Assert.That(lb.Snapshot.Pools["p"].Backends[0].TlsFailures, Is.EqualTo(1));
        Assert.That(untrusted.Requests, Is.Zero);
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task VerifyFalse_UntrustedCertificateAccepted(CancellationToken cancellationToken)
    {
        using var stranger = new TestCertificates("some other CA");
        await using var untrusted = StartBackend("untrusted", ["x.test"], authority: stranger);
        await using var lb = await TestLb.StartAsync(Config(Backend(untrusted), "{ sni = \"api.internal.test\", verify = false }"), ConfigPath);
        await using var client = await lb.ConnectAsync(cancellationToken);

        Assert.That(await GetAsync(client, cancellationToken), Is.EqualTo((200, "untrusted\n")));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task ClientCertificate_PresentedToBackend(CancellationToken cancellationToken)
    {
        await using var backend = StartBackend("b1", ["api.internal.test"], requireClientCertificate: true);
        var (cert, key, _) = Certs.Issue("lb-client", [], clientAuth: true);
        await using var lb = await TestLb.StartAsync(
            Config(Backend(backend), $"{{ sni = \"api.internal.test\", ca = \"ca.pem\", client_cert = \"{cert}\", client_key = \"{key}\" }}"), ConfigPath);
        await using var client = await lb.ConnectAsync(cancellationToken);

        Assert.That(await GetAsync(client, cancellationToken), Is.EqualTo((200, "b1\n")));
        Assert.That(backend.ClientSubjects.Single(), Is.EqualTo("CN=lb-client"));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task HttpHealthCheck_SpeaksTls_BackendStaysUp(CancellationToken cancellationToken)
    {
        await using var backend = StartBackend("b1", ["api.internal.test"]);
        await using var lb = await TestLb.StartAsync(
            Config(Backend(backend), "{ sni = \"api.internal.test\", ca = \"ca.pem\" }") + "\nhealth = { type = \"http\", path = \"/healthz\", interval = \"100ms\", rise = 1, fall = 1 }", ConfigPath);

        while (backend.Requests < 3)
        {
            await Task.Delay(50, cancellationToken);
        }

        Assert.That(lb.Snapshot.Pools["p"].Backends[0].IsAvailable, Is.True);
        await using var client = await lb.ConnectAsync(cancellationToken);
        Assert.That((await GetAsync(client, cancellationToken)).Status, Is.EqualTo(200));
    }
}
