using System.Text;
using LoadBalancer.Core.Config;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Http1;
using LoadBalancer.Core.Proxy;
using LoadBalancer.Core.Routing;

namespace LoadBalancer.Tests.Unit.Http;

/// <summary>
/// The protocol-neutral message model without sockets (issue 18): the view the HTTP/1 codec builds over its parse,
/// the per-request steps that read only that view (tenant lookup, hash key), and header edits applied by the encoder.
/// </summary>
[TestFixture]
public sealed class MessageModelTests
{
    private static (byte[] Bytes, HttpMessageHead Head, HeaderLine[] Fields) Parse(string request)
    {
        var bytes = Encoding.ASCII.GetBytes(request);
        var head = default(HttpMessageHead);
        var fields = new HeaderLine[32];
        Assert.That(Http1HeadParser.TryParseRequest(bytes, HttpLimits.Default, ref head, fields), Is.EqualTo(HeadParseStatus.Complete));
        return (bytes, head, fields);
    }

    private static string Text(ReadOnlySpan<byte> bytes) => Encoding.ASCII.GetString(bytes);

    [Test]
    public void View_OriginForm_CarriesMethodAuthorityTargetFramingAndWireLength()
    {
        const string request = "POST /v1/chat?x=1 HTTP/1.1\r\nHost: a.test:8080\r\nContent-Length: 5\r\nX-One: 1\r\n\r\n";
        var (bytes, head, fields) = Parse(request);
        var view = Http1Request.View(bytes, head, fields);
        var facts = (view.Method, Text(view.MethodName), Text(view.Authority), Text(view.Target), view.Framing, view.ContentLength, view.WireLength, view.Fields.Length);
        Assert.That(facts, Is.EqualTo((LoadBalancer.Core.Http.HttpMethod.Post, "POST", "a.test:8080", "/v1/chat?x=1", BodyFraming.ContentLength, 5L, request.Length, 3)),
            "method, its name, authority, target, framing, length, wire length, and only the parsed fields");
    }

    [Test]
    public void View_AbsoluteForm_AuthorityComesFromTheTarget()
    {
        var (bytes, head, fields) = Parse("GET http://b.test/p HTTP/1.1\r\nHost: b.test\r\n\r\n");
        var view = Http1Request.View(bytes, head, fields);
        Assert.That(Text(view.Authority), Is.EqualTo("b.test"));
        Assert.That(view.Framing, Is.EqualTo(BodyFraming.None));
        Assert.That(view.ContentLength, Is.EqualTo(-1));
    }

    [Test]
    public void View_Chunked_IsAFramingFactNotBytes()
    {
        var (bytes, head, fields) = Parse("PUT /u HTTP/1.1\r\nHost: c.test\r\nTransfer-Encoding: chunked\r\n\r\n");
        Assert.That(Http1Request.View(bytes, head, fields).Framing, Is.EqualTo(BodyFraming.Chunked));
    }

    [TestCase("tenant_key = \"host\"", "GET / HTTP/1.1\r\nHost: t.test\r\n\r\n", "t")]
    [TestCase("tenant_key = \"host\"", "GET / HTTP/1.1\r\nHost: other.test\r\n\r\n", null)]
    [TestCase("tenant_key = \"header:X-Tenant\"", "GET / HTTP/1.1\r\nHost: x\r\nX-Tenant: t.test\r\n\r\n", "t")]
    public void FindTenant_ReadsOnlyTheView(string listenerKeys, string request, string? expected)
    {
        var snapshot = ConfigLoader.LoadText($$"""
            [[listeners]]
            name = "web"
            listen = "127.0.0.1:0"
            {{listenerKeys}}

            [[tenants]]
            name = "t"
            match = ["t.test"]
            pool = "p"

            [[pools]]
            name = "p"
            backends = [{ address = "127.0.0.1:9001" }]
            """, "lb.toml").Snapshot ?? throw new InvalidOperationException("config refused");
        var (bytes, head, fields) = Parse(request);
        var tenant = ProxyExchange.FindTenant(snapshot.Listeners[0], Http1Request.View(bytes, head, fields), out var key);
        Assert.That(tenant?.Name, Is.EqualTo(expected));
        if (expected is null)
        {
            Assert.That(Text(key), Is.EqualTo("other.test"), "the key that matched nothing, for the 421's detail");
        }
    }

    [TestCase("header:x-user", "GET /a HTTP/1.1\r\nHost: t\r\nX-User: alice\r\n\r\n", "alice")]
    [TestCase("cookie:sid", "GET /a HTTP/1.1\r\nHost: t\r\nCookie: a=1; sid=s42; b=2\r\n\r\n", "s42")]
    [TestCase("path", "GET /a/b?q=1 HTTP/1.1\r\nHost: t\r\n\r\n", "/a/b")]
    [TestCase("client-ip", "GET /a HTTP/1.1\r\nHost: t\r\n\r\n", "192.0.2.9")]
    public void CaptureHashKey_TakesThePoolsKeyFromTheView(string hashOn, string request, string expected)
    {
        var pool = ConfigLoader.LoadText($$"""
            [[listeners]]
            name = "web"
            listen = "127.0.0.1:0"

            [[tenants]]
            name = "t"
            match = ["t"]
            pool = "p"

            [[pools]]
            name = "p"
            balancer = "weighted-hash"
            hash_on = "{{hashOn}}"
            backends = [{ address = "127.0.0.1:9001" }]
            """, "lb.toml").Snapshot!.Pools["p"];
        var exchange = new ProxyExchange();
        var (bytes, head, fields) = Parse(request);
        exchange.CaptureHashKey(pool, Http1Request.View(bytes, head, fields), "192.0.2.9"u8);
        Assert.That(Text(exchange.HashKey.Span), Is.EqualTo(expected));
    }

    [Test]
    public void Encode_RequestWithTransform_RemovesSetsAndAdds_ThenTheCodecsOwnRules()
    {
        var (bytes, head, fields) = Parse(
            "GET /x HTTP/1.1\r\nHost: a.test\r\nX-Drop: 1\r\nx-version: 1\r\nX-Version: 2\r\nConnection: keep-alive\r\nX-Key: secret\r\nX-Keep: k\r\n\r\n");
        var transform = HeaderTransform.Create(
            set: [new("X-Version", "3")],
            add: [new("X-Added", "yes")],
            remove: ["x-drop"]);
        var output = new byte[1024];
        var written = Http1HeadWriter.WriteRequest(bytes, head, fields, UpgradeOffer.None, addForwarded: true, trustForwarded: false, "192.0.2.9"u8, output, new HeaderEdits(5, transform));
        Assert.That(Encoding.ASCII.GetString(output, 0, written), Is.EqualTo(
            "GET /x HTTP/1.1\r\nHost: a.test\r\nX-Keep: k\r\nX-Version: 3\r\nX-Added: yes\r\n"
            + "X-Forwarded-For: 192.0.2.9\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: a.test\r\n\r\n"));
        Assert.That(transform.AddedBytes, Is.EqualTo("X-Version: 3\r\nX-Added: yes\r\n".Length));
    }

    [Test]
    public void Encode_ResponseWithTransform_AppliesBeforeLbsConnectionDecision()
    {
        var bytes = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nServer: internal/1.2\r\nContent-Length: 2\r\nX-Powered-By: php\r\n\r\n");
        var head = default(HttpMessageHead);
        var fields = new HeaderLine[16];
        Assert.That(Http1HeadParser.TryParseResponse(bytes, HttpLimits.Default, ref head, fields), Is.EqualTo(HeadParseStatus.Complete));
        var transform = HeaderTransform.Create(set: [new("Server", "lb")], add: [], remove: ["x-powered-by"]);
        var output = new byte[512];
        var written = Http1HeadWriter.WriteResponse(bytes, head, fields, closeClient: true, clientIsHttp10: false, output, edits: new HeaderEdits(-1, transform));
        Assert.That(Encoding.ASCII.GetString(output, 0, written), Is.EqualTo(
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nServer: lb\r\nConnection: close\r\n\r\n"));
    }

    [Test]
    public void DefaultEdits_EditNothing()
    {
        var edits = default(HeaderEdits);
        Assert.That(edits.RemoveField, Is.EqualTo(-1));
        Assert.That(edits.Drops(0, "Host"u8), Is.False);
        Assert.That(HeaderEdits.None.AddedBytes, Is.Zero);
    }
}
