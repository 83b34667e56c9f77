using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>
/// lb's own answers (issue 17 item 2) over real sockets: each names its cause in a text/plain body, or as
/// {"error","detail"} JSON when the request accepts application/json; a 401 carries WWW-Authenticate; no key is echoed.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class LocalReplyTests
{
    private const string Key = "lbk_local-reply-test-secret-0123456789";
    private const string Json = "Accept: text/html, application/json;q=0.9\r\n";

    private static string KeyConfig(string backend, string extra = "")
        => TestConfigs.OneTenant(backend, tenantExtra: $"access_keys = [ {{ id = \"k\", sha256 = \"{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Key)))}\" }} ]\n{extra}");

    [Test]
    [CancelAfter(20_000)]
    public async Task BadRequest_TwoHosts_NamesTheRule(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(TestConfigs.OneTenant(backend.Address));

        var response = await AskAsync(lb, "GET / HTTP/1.1\r\nHost: acme.example.com\r\nHost: acme.example.com\r\n\r\n", cancellationToken);

        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(400));
            Assert.That(response.Header("Content-Type"), Is.EqualTo("text/plain"));
            Assert.That(response.BodyText, Is.EqualTo("400 Bad Request: more than one Host header field\n"));
            Assert.That(response.Header("Connection"), Is.EqualTo("close"));
        });
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task UnsupportedVersion_505_NamesTheRule(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(TestConfigs.OneTenant(backend.Address));

        var response = await AskAsync(lb, "GET / HTTP/2.0\r\nHost: acme.example.com\r\n\r\n", cancellationToken);

        Assert.That(response.Status, Is.EqualTo(505));
        Assert.That(response.BodyText, Does.StartWith("505 HTTP Version Not Supported: ").And.Contain("HTTP version"));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task UnknownTenant_421_NamesTheHostSeen_TextAndJson(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(TestConfigs.OneTenant(backend.Address));

        var text = await AskAsync(lb, "GET / HTTP/1.1\r\nHost: nobody.example.com:8080\r\n\r\n", cancellationToken);
        var json = await AskAsync(lb, $"GET / HTTP/1.1\r\nHost: nobody.example.com\r\n{Json}\r\n", cancellationToken);

        Assert.Multiple(() =>
        {
            Assert.That(text.Status, Is.EqualTo(421));
            Assert.That(text.BodyText, Is.EqualTo("421 Misdirected Request: no tenant matches host 'nobody.example.com:8080'\n"));
            Assert.That(json.Status, Is.EqualTo(421));
            Assert.That(json.Header("Content-Type"), Is.EqualTo("application/json"));
            Assert.That(ParseJson(json), Is.EqualTo(("unknown_tenant", "no tenant matches host 'nobody.example.com'")));
        });
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task UnknownTenant_LongHeaderKey_IsSanitizedAndCapped(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(TestConfigs.OneTenant(backend.Address, listenerExtra: "tenant_key = \"header:X-Tenant\""));
        var key = "\"quoted\"\\" + new string('k', 300);

        var response = await AskAsync(lb, $"GET / HTTP/1.1\r\nHost: a\r\nX-Tenant: {key}\r\n{Json}\r\n", cancellationToken);

        var (error, detail) = ParseJson(response);
        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(421));
            Assert.That(error, Is.EqualTo("unknown_tenant"));
            Assert.That(detail, Is.EqualTo("no tenant matches the tenant header value '?quoted??" + new string('k', 91) + "...'"));
        });
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task MissingKey_401_CarriesBearerChallenge(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(KeyConfig(backend.Address));

        var response = await AskAsync(lb, "GET / HTTP/1.1\r\nHost: acme.example.com\r\n\r\n", cancellationToken);
        var json = await AskAsync(lb, $"GET / HTTP/1.1\r\nHost: acme.example.com\r\nAuthorization: Basic eDp5\r\n{Json}\r\n", cancellationToken);

        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(401));
            Assert.That(response.Header("WWW-Authenticate"), Is.EqualTo("Bearer realm=\"lb\""));
            Assert.That(response.BodyText, Is.EqualTo("401 Unauthorized: this tenant requires an access key (send Authorization: Bearer <key>)\n"));
            Assert.That(json.Status, Is.EqualTo(401));
            Assert.That(json.Header("WWW-Authenticate"), Is.EqualTo("Bearer realm=\"lb\""));
            Assert.That(ParseJson(json).Error, Is.EqualTo("missing_access_key"));
            Assert.That(json.BodyText, Does.Not.Contain("eDp5"), "the Authorization value is never echoed");
        });
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task MissingKey_CustomHeader_401_NamesTheHeader_WrongKey403_NotEchoed(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(KeyConfig(backend.Address, "access_key_header = \"X-Api-Key\""));

        var missing = await AskAsync(lb, "GET / HTTP/1.1\r\nHost: acme.example.com\r\n\r\n", cancellationToken);
        var wrong = await AskAsync(lb, $"GET / HTTP/1.1\r\nHost: acme.example.com\r\nX-Api-Key: {Key}x\r\n{Json}\r\n", cancellationToken);

        Assert.Multiple(() =>
        {
            Assert.That(missing.Status, Is.EqualTo(401));
            Assert.That(missing.Header("WWW-Authenticate"), Is.EqualTo("ApiKey realm=\"lb\", header=\"X-Api-Key\""));
            Assert.That(missing.BodyText, Is.EqualTo("401 Unauthorized: this tenant requires an access key (send it in header X-Api-Key)\n"));
            Assert.That(wrong.Status, Is.EqualTo(403));
            Assert.That(wrong.Header("WWW-Authenticate"), Is.Null);
            Assert.That(ParseJson(wrong), Is.EqualTo(("invalid_access_key", "the access key is not valid for this tenant")));
            Assert.That(wrong.BodyText, Does.Not.Contain("lbk_"), "the key is never echoed");
        });
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task RateLimited_429_KeepsRetryAfter_NamesTheLimit(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(TestConfigs.OneTenant(backend.Address, tenantExtra: "rate_limit = { requests_per_second = 1, burst = 1 }"));
        await using var client = await lb.ConnectAsync(cancellationToken);
        RawHttpResponse? refused = null;
        for (var i = 0; i < 5 && refused is null; i++)
        {
            await client.SendAsync($"GET / HTTP/1.1\r\nHost: acme.example.com\r\n{Json}\r\n", cancellationToken);
            var response = (await client.ReadResponseAsync(cancellationToken))!;
            refused = response.Status == 429 ? response : null;
        }

        Assert.That(refused, Is.Not.Null, "the second request within a second is over the limit");
        Assert.Multiple(() =>
        {
            Assert.That(refused!.Header("Retry-After"), Is.EqualTo("1"));
            Assert.That(refused.Header("Connection"), Is.Null, "a body-less refusal keeps the connection");
            Assert.That(ParseJson(refused), Is.EqualTo(("rate_limited", "the tenant's rate_limit is exceeded")));
        });
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task BodyTooLarge_413_NamesTheLimit(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(TestConfigs.OneTenant(backend.Address, tenantExtra: "max_body_bytes = 10"));

        var response = await AskAsync(lb, "POST / HTTP/1.1\r\nHost: acme.example.com\r\nContent-Length: 11\r\n\r\n", cancellationToken);

        Assert.That(response.Status, Is.EqualTo(413));
        Assert.That(response.BodyText, Is.EqualTo("413 Content Too Large: the request body exceeds the tenant's max_body_bytes\n"));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task MaxInFlight_503_SaysWhichLimit(CancellationToken cancellationToken)
    {
        await using var backend = HoldingBackend.Start("b1", hold: true);
        await using var lb = await TestLb.StartAsync(TestConfigs.OneTenant(backend.Address, tenantExtra: "max_in_flight = 1"));
        await using var held = await lb.ConnectAsync(cancellationToken);
        await held.SendAsync("GET / HTTP/1.1\r\nHost: acme.example.com\r\n\r\n", cancellationToken);
        await backend.WaitForRequestsAsync(1, cancellationToken);

        var response = await AskAsync(lb, $"GET / HTTP/1.1\r\nHost: acme.example.com\r\n{Json}\r\n", cancellationToken);
        backend.Release();

        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(503));
            Assert.That(response.Header("Retry-After"), Is.EqualTo("1"));
            Assert.That(ParseJson(response), Is.EqualTo(("max_in_flight", "the tenant's max_in_flight limit is reached")));
        });
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task BackendUnreachable_502_SaysSo(CancellationToken cancellationToken)
    {
        int port;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }

        await using var lb = await TestLb.StartAsync(TestConfigs.OneTenant($"127.0.0.1:{port}"));

        var response = await AskAsync(lb, "GET / HTTP/1.1\r\nHost: acme.example.com\r\n\r\n", cancellationToken);

        Assert.That(response.Status, Is.EqualTo(502));
        Assert.That(response.BodyText, Is.EqualTo("502 Bad Gateway: could not connect to a backend of the pool\n"));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task BackendSilent_504_NamesTheTimeout(CancellationToken cancellationToken)
    {
        await using var backend = new SilentBackend();
        await using var lb = await TestLb.StartAsync(TestConfigs.OneTenant(backend.Address, poolExtra: "timeouts = { response_head = \"200ms\" }"));

        var response = await AskAsync(lb, $"GET / HTTP/1.1\r\nHost: acme.example.com\r\n{Json}\r\n", cancellationToken);

        Assert.That(response.Status, Is.EqualTo(504));
        Assert.That(ParseJson(response), Is.EqualTo(("backend_timeout", "the backend sent no response head within timeouts.response_head")));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task SlowHead_408_NamesTheTimeout(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(TestConfigs.OneTenant(backend.Address, listenerExtra: "timeouts = { request_head = \"200ms\" }"));

        var response = await AskAsync(lb, "GET / HTTP/1.1\r\nHost: acme", cancellationToken);

        Assert.That(response.Status, Is.EqualTo(408));
        Assert.That(response.BodyText, Is.EqualTo("408 Request Timeout: the request head was not complete within timeouts.request_head\n"));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Connect_405_SaysNotSupported(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(TestConfigs.OneTenant(backend.Address));

        var response = await AskAsync(lb, "CONNECT acme.example.com:443 HTTP/1.1\r\nHost: acme.example.com:443\r\n\r\n", cancellationToken);

        Assert.That(response.Status, Is.EqualTo(405));
        Assert.That(response.BodyText, Is.EqualTo("405 Method Not Allowed: CONNECT is not supported by this proxy\n"));
    }

    private static async Task<RawHttpResponse> AskAsync(TestLb lb, string request, CancellationToken cancellationToken)
    {
        await using var client = await lb.ConnectAsync(cancellationToken);
        await client.SendAsync(request, cancellationToken);
        return (await client.ReadResponseAsync(cancellationToken))!;
    }

    private static (string Error, string Detail) ParseJson(RawHttpResponse response)
    {
        using var document = JsonDocument.Parse(response.Body);
        return (document.RootElement.GetProperty("error").GetString()!, document.RootElement.GetProperty("detail").GetString()!);
    }
}
