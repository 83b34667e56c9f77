using NUnit.Framework;
using LoadBalancer.Core.Http;
using LoadBalancer.Tests.TestSupport;
using HttpMethod = LoadBalancer.Core.Http.HttpMethod;
using LoadBalancer.Core.Http1;

namespace LoadBalancer.Tests.Unit.Http;

[TestFixture]
public sealed class Http1HeadParserRequestTests
{
    private const string H = "GET / HTTP/1.1\r\nHost: a\r\n";

    private static TestCaseData Bad(string name, string head, int status) =>
        new TestCaseData(head, status).SetArgDisplayNames(name);

    private static IEnumerable<TestCaseData> InvalidRequests()
    {
        // Request line (RFC 9112 section 3).
        yield return Bad("double space after method", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
        yield return Bad("double space before version", "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 400);
        yield return Bad("trailing space after version", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400);
        yield return Bad("leading space", " GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
        yield return Bad("tab separator", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400);
        yield return Bad("method not a token", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
        yield return Bad("space in target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400);
        yield return Bad("CTL in target", "GET /\u0001 HTTP/1.1\r\nHost: a\r\n\r\n", 400);
        yield return Bad("DEL in target", "GET /\u007f HTTP/1.1\r\nHost: a\r\n\r\n", 400);
        yield return Bad("non-ASCII in target", "GET /\u00e9 HTTP/1.1\r\nHost: a\r\n\r\n", 400);
        yield return Bad("fragment in target", "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", 400);
        yield return Bad("lowercase version", "GET / http/1.1\r\nHost: a\r\n\r\n", 400);
        yield return Bad("version garbage", "GET / HTTP/1.1x\r\nHost: a\r\n\r\n", 400);
        yield return Bad("version without minor", "GET / HTTP/1\r\nHost: a\r\n\r\n", 400);
        yield return Bad("two-digit major", "GET / HTTP/11.1\r\nHost: a\r\n\r\n", 400);
        yield return Bad("HTTP/0.9 request line", "GET /\r\nHost: a\r\n\r\n", 400);
        yield return Bad("bare CR before request line", "\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
        yield return Bad("bare LF before request line", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
        yield return Bad("bare LF after request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400);
        yield return Bad("bare LF head", "GET / HTTP/1.1\nHost: a\n\n", 400);
        yield return Bad("CRLF LF head end", "GET / HTTP/1.1\r\nHost: a\r\n\n", 400);
        yield return Bad("bare LF between fields", H + "X: a\nY: b\r\n\r\n", 400);
        yield return Bad("bare LF after field", H + "X: a\n\r\n", 400);
        yield return Bad("bare CR in value", H + "X: a\rb\r\n\r\n", 400);
        yield return Bad("bare CR line end", H + "X: a\rY: b\r\n\r\n", 400);

        // Field lines (RFC 9112 section 5, RFC 9110 section 5.5).
        yield return Bad("NUL in value", H + "X: a\0b\r\n\r\n", 400);
        yield return Bad("DEL in value", H + "X: a\u007fb\r\n\r\n", 400);
        yield return Bad("vertical tab in value", H + "X: a\u000bb\r\n\r\n", 400);
        yield return Bad("form feed in value", H + "X: \u000c\r\n\r\n", 400);
        yield return Bad("ESC in value", H + "X: \u001b[0m\r\n\r\n", 400);
        yield return Bad("obs-fold", H + "X: a\r\n b\r\n\r\n", 400);
        yield return Bad("obs-fold with tab", H + "X: a\r\n\tb\r\n\r\n", 400);
        yield return Bad("whitespace before first field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400);
        yield return Bad("space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400);
        yield return Bad("tab before colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400);
        yield return Bad("empty field name", H + ": a\r\n\r\n", 400);
        yield return Bad("field name not a token", H + "X(y): a\r\n\r\n", 400);
        yield return Bad("field without colon", H + "X\r\n\r\n", 400);
        yield return Bad("non-ASCII field name", H + "X\u00e9: a\r\n\r\n", 400);

        // Content-Length (RFC 9110 section 8.6, RFC 9112 section 6.3).
        yield return Bad("CL plus sign", H + "Content-Length: +5\r\n\r\n", 400);
        yield return Bad("CL minus sign", H + "Content-Length: -5\r\n\r\n", 400);
        yield return Bad("CL hex", H + "Content-Length: 0x5\r\n\r\n", 400);
        yield return Bad("CL exponent", H + "Content-Length: 1e3\r\n\r\n", 400);
        yield return Bad("CL inner space", H + "Content-Length: 5 5\r\n\r\n", 400);
        yield return Bad("CL empty", H + "Content-Length:\r\n\r\n", 400);
        yield return Bad("CL differing list", H + "Content-Length: 5, 6\r\n\r\n", 400);
        yield return Bad("CL trailing comma", H + "Content-Length: 5,\r\n\r\n", 400);
        yield return Bad("CL leading comma", H + "Content-Length: ,5\r\n\r\n", 400);
        yield return Bad("CL semicolon", H + "Content-Length: 5;\r\n\r\n", 400);
        yield return Bad("CL overflow", H + "Content-Length: 99999999999999999999\r\n\r\n", 400);
        yield return Bad("CL just over long", H + "Content-Length: 9223372036854775808\r\n\r\n", 400);
        yield return Bad("CL differing lines", H + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", 400);
        yield return Bad("CL unicode digit", H + "Content-Length: \u00b9\r\n\r\n", 400);

        // Transfer-Encoding (RFC 9112 sections 6.1 and 6.3): smuggling shapes.
        yield return Bad("CL.TE", H + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
        yield return Bad("TE.CL", H + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400);
        yield return Bad("TE.CL with zero CL", H + "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n", 400);
        yield return Bad("TE xchunked", H + "Transfer-Encoding: xchunked\r\n\r\n", 501);
        yield return Bad("TE chunkedx", H + "Transfer-Encoding: chunkedx\r\n\r\n", 501);
        yield return Bad("TE space before colon", H + "Transfer-Encoding : chunked\r\n\r\n", 400);
        yield return Bad("TE vertical tab", H + "Transfer-Encoding:\u000bchunked\r\n\r\n", 400);
        yield return Bad("TE form feed", H + "Transfer-Encoding: chunked\u000c\r\n\r\n", 400);
        yield return Bad("TE obs-fold", H + "Transfer-Encoding:\r\n chunked\r\n\r\n", 400);
        yield return Bad("TE chunked twice", H + "Transfer-Encoding: chunked, chunked\r\n\r\n", 400);
        yield return Bad("TE chunked twice on two lines", H + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
        yield return Bad("TE chunked then identity", H + "Transfer-Encoding: chunked, identity\r\n\r\n", 400);
        yield return Bad("TE chunked then identity on two lines", H + "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n", 400);
        yield return Bad("TE identity then chunked", H + "Transfer-Encoding: identity, chunked\r\n\r\n", 501);
        yield return Bad("TE gzip then chunked", H + "Transfer-Encoding: gzip, chunked\r\n\r\n", 501);
        yield return Bad("TE gzip with parameter then chunked", H + "Transfer-Encoding: gzip;q=1, chunked\r\n\r\n", 501);
        yield return Bad("TE identity", H + "Transfer-Encoding: identity\r\n\r\n", 501);
        yield return Bad("TE chunked with parameter", H + "Transfer-Encoding: chunked;x\r\n\r\n", 400);
        yield return Bad("TE chunked with spaced parameter", H + "Transfer-Encoding: chunked ; x=1\r\n\r\n", 400);
        yield return Bad("TE quoted", H + "Transfer-Encoding: \"chunked\"\r\n\r\n", 400);
        yield return Bad("TE chunked space word", H + "Transfer-Encoding: chunked x\r\n\r\n", 400);
        yield return Bad("TE empty", H + "Transfer-Encoding:\r\n\r\n", 400);
        yield return Bad("TE only commas", H + "Transfer-Encoding: , ,\r\n\r\n", 400);
        yield return Bad("TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
        yield return Bad("TE non-ASCII lookalike", H + "Transfer-Encoding: chunk\u00e9d\r\n\r\n", 400);

        // Host and target (RFC 9112 section 3.2).
        yield return Bad("missing Host", "GET / HTTP/1.1\r\nX: a\r\n\r\n", 400);
        yield return Bad("two Hosts", H + "Host: a\r\n\r\n", 400);
        yield return Bad("two Hosts differing", H + "host: b\r\n\r\n", 400);
        yield return Bad("two Hosts in HTTP/1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400);
        yield return Bad("empty Host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", 400);
        yield return Bad("Host with space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400);
        yield return Bad("Host with userinfo", "GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", 400);
        yield return Bad("Host empty port", "GET / HTTP/1.1\r\nHost: a:\r\n\r\n", 400);
        yield return Bad("Host port too big", "GET / HTTP/1.1\r\nHost: a:65536\r\n\r\n", 400);
        yield return Bad("Host port not numeric", "GET / HTTP/1.1\r\nHost: a:b\r\n\r\n", 400);
        yield return Bad("Host port only", "GET / HTTP/1.1\r\nHost: :80\r\n\r\n", 400);
        yield return Bad("Host two ports", "GET / HTTP/1.1\r\nHost: a:1:2\r\n\r\n", 400);
        yield return Bad("Host with path", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400);
        yield return Bad("Host list", "GET / HTTP/1.1\r\nHost: a, b\r\n\r\n", 400);
        yield return Bad("Host bad pct-encoding", "GET / HTTP/1.1\r\nHost: a%4\r\n\r\n", 400);
        yield return Bad("Host unclosed IPv6", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400);
        yield return Bad("Host bad IPv6", "GET / HTTP/1.1\r\nHost: [::g]\r\n\r\n", 400);
        yield return Bad("Host IPv6 two elisions", "GET / HTTP/1.1\r\nHost: [1::2::3]\r\n\r\n", 400);
        yield return Bad("Host IPv6 too many groups", "GET / HTTP/1.1\r\nHost: [1:2:3:4:5:6:7:8:9]\r\n\r\n", 400);
        yield return Bad("Host IPv6 zone id", "GET / HTTP/1.1\r\nHost: [fe80::1%25eth0]\r\n\r\n", 400);
        yield return Bad("Host IPv6 junk after bracket", "GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n", 400);
        yield return Bad("absolute-form with userinfo", "GET http://user:pw@a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400);
        yield return Bad("absolute-form empty authority", "GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", 400);
        yield return Bad("absolute-form other scheme", "GET ftp://a/x HTTP/1.1\r\nHost: a\r\n\r\n", 400);
        yield return Bad("absolute-form bad authority", "GET http://a:x/ HTTP/1.1\r\nHost: a\r\n\r\n", 400);
        yield return Bad("absolute-form still needs Host", "GET http://a/ HTTP/1.1\r\n\r\n", 400);
        yield return Bad("relative target", "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", 400);
        yield return Bad("authority-form without CONNECT", "GET a:80 HTTP/1.1\r\nHost: a\r\n\r\n", 400);
        yield return Bad("asterisk-form without OPTIONS", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400);
        yield return Bad("CONNECT origin-form", "CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
        yield return Bad("CONNECT without port", "CONNECT a HTTP/1.1\r\nHost: a\r\n\r\n", 400);
        yield return Bad("CONNECT with userinfo", "CONNECT u@a:443 HTTP/1.1\r\nHost: a\r\n\r\n", 400);

        // Connection (RFC 9110 section 7.6.1).
        yield return Bad("Connection not a token list", H + "Connection: close, a b\r\n\r\n", 400);

        // Versions (RFC 9110 section 15.6.6): the HTTP/2 preface is a well-formed line with an unsupported version.
        yield return Bad("HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505);
        yield return Bad("HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505);
        yield return Bad("HTTP/0.9 version", "GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505);
        yield return Bad("HTTP/3.0", "GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505);
    }

    [TestCaseSource(nameof(InvalidRequests))]
    public void TryParseRequest_MalformedHead_ReturnsInvalidWithStatus(string head, int status)
    {
        var run = new HttpHeadRunner(head);

        Assert.Multiple(() =>
        {
            Assert.That(run.Status, Is.EqualTo(HeadParseStatus.Invalid), run.Describe());
            Assert.That(run.Head.ErrorStatus, Is.EqualTo(status), run.Describe());
            Assert.That(run.Head.ErrorReason, Is.Not.Null.And.Not.Empty);
        });
    }

    [TestCaseSource(nameof(InvalidRequests))]
    public void TryParseRequest_MalformedHeadWithMoreBytesAfter_ReturnsSameInvalid(string head, int status)
    {
        var run = new HttpHeadRunner(head + "GET / HTTP/1.1\r\nHost: a\r\n\r\n");

        Assert.That(run.Describe(), Is.EqualTo(new HttpHeadRunner(head).Describe()));
    }

    [Test]
    public void TryParseRequest_MinimalGet_FillsRequestLineAndAuthority()
    {
        var run = new HttpHeadRunner("GET /p?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n");

        Assert.Multiple(() =>
        {
            Assert.That(run.Status, Is.EqualTo(HeadParseStatus.Complete), run.Describe());
            Assert.That(run.Head.Method, Is.EqualTo(HttpMethod.Get));
            Assert.That(run.Method, Is.EqualTo("GET"));
            Assert.That(run.Target, Is.EqualTo("/p?q=1"));
            Assert.That(run.Authority, Is.EqualTo("example.com"));
            Assert.That(run.Head.AbsoluteForm, Is.False);
            Assert.That(run.Head.MinorVersion, Is.EqualTo(1));
            Assert.That(run.Head.HeadLength, Is.EqualTo(run.Data.Length));
            Assert.That(run.Head.HeaderCount, Is.EqualTo(1));
            Assert.That(run.Head.ContentLength, Is.EqualTo(-1));
            Assert.That(run.Head.Chunked, Is.False);
            Assert.That(run.Head.ConnectionClose, Is.False);
            Assert.That(run.Head.Upgrade, Is.False);
            Assert.That(run.Head.ExpectContinue, Is.False);
            Assert.That(run.Head.ErrorReason, Is.Null);
            Assert.That(run.Headers[0].Kind, Is.EqualTo(HeaderKind.Host));
            Assert.That(run.Line(0), Is.EqualTo("Host: example.com\r\n"));
        });
    }

    [Test]
    public void TryParseRequest_LeadingEmptyLines_SkipsThemAndCountsThemInHeadLength()
    {
        var run = new HttpHeadRunner("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\nNEXT");

        Assert.Multiple(() =>
        {
            Assert.That(run.Status, Is.EqualTo(HeadParseStatus.Complete), run.Describe());
            Assert.That(run.Head.MethodStart, Is.EqualTo(4));
            Assert.That(run.Method, Is.EqualTo("GET"));
            Assert.That(run.Head.HeadLength, Is.EqualTo(run.Data.Length - 4));
        });
    }

    [Test]
    public void TryParseRequest_NoHeaderFields_CompletesForHttp10()
    {
        var run = new HttpHeadRunner("GET / HTTP/1.0\r\n\r\n");

        Assert.Multiple(() =>
        {
            Assert.That(run.Status, Is.EqualTo(HeadParseStatus.Complete), run.Describe());
            Assert.That(run.Head.HeaderCount, Is.Zero);
            Assert.That(run.Head.MinorVersion, Is.Zero);
            Assert.That(run.Head.AuthorityLength, Is.Zero);
            Assert.That(run.Head.ConnectionClose, Is.True);
        });
    }

    [TestCase("Content-Length: 5", 5L)]
    [TestCase("Content-Length: 0", 0L)]
    [TestCase("Content-Length: 007", 7L)]
    [TestCase("Content-Length:\t42\t", 42L)]
    [TestCase("Content-Length: 5, 5", 5L)]
    [TestCase("Content-Length: 5,5 ,  5", 5L)]
    [TestCase("Content-Length: 5\r\nContent-Length: 5", 5L)]
    [TestCase("content-LENGTH: 9223372036854775807", long.MaxValue)]
    [TestCase("X-Other: 1", -1L)]
    public void TryParseRequest_ContentLength_ReportsLength(string field, long expected)
    {
        var run = new HttpHeadRunner($"POST / HTTP/1.1\r\nHost: a\r\n{field}\r\n\r\n");

        Assert.Multiple(() =>
        {
            Assert.That(run.Status, Is.EqualTo(HeadParseStatus.Complete), run.Describe());
            Assert.That(run.Head.ContentLength, Is.EqualTo(expected));
            Assert.That(run.Head.Chunked, Is.False);
        });
    }

    [TestCase("Transfer-Encoding: chunked")]
    [TestCase("Transfer-Encoding:\tchunked")]
    [TestCase("Transfer-Encoding: CHUNKED")]
    [TestCase("transfer-encoding: Chunked \t")]
    [TestCase("Transfer-Encoding: , chunked ,")]
    [TestCase("Transfer-Encoding:\r\nTransfer-Encoding: chunked")]
    public void TryParseRequest_ChunkedTransferEncoding_ReportsChunked(string field)
    {
        var run = new HttpHeadRunner($"POST / HTTP/1.1\r\nHost: a\r\n{field}\r\n\r\n");

        Assert.Multiple(() =>
        {
            Assert.That(run.Status, Is.EqualTo(HeadParseStatus.Complete), run.Describe());
            Assert.That(run.Head.Chunked, Is.True);
            Assert.That(run.Head.ContentLength, Is.EqualTo(-1));
        });
    }

    [TestCase("GET / HTTP/1.1\r\nHost: a\r\n\r\n", false)]
    [TestCase("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", true)]
    [TestCase("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, CLOSE\r\n\r\n", true)]
    [TestCase("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", true)]
    [TestCase("GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n", false)]
    [TestCase("GET / HTTP/1.1\r\nHost: a\r\nProxy-Connection: close\r\n\r\n", false)]
    [TestCase("GET / HTTP/1.0\r\n\r\n", true)]
    [TestCase("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", false)]
    [TestCase("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", true)]
    public void TryParseRequest_ConnectionOptions_ReportsClose(string head, bool close)
    {
        var run = new HttpHeadRunner(head);

        Assert.Multiple(() =>
        {
            Assert.That(run.Status, Is.EqualTo(HeadParseStatus.Complete), run.Describe());
            Assert.That(run.Head.ConnectionClose, Is.EqualTo(close));
        });
    }

    [TestCase("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", true)]
    [TestCase("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nConnection: keep-alive, upgrade\r\n\r\n", true)]
    [TestCase("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n", false)]
    [TestCase("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n", false)]
    [TestCase("GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n", false)]
    public void TryParseRequest_UpgradeFields_ReportsUpgrade(string head, bool upgrade)
    {
        var run = new HttpHeadRunner(head);

        Assert.Multiple(() =>
        {
            Assert.That(run.Status, Is.EqualTo(HeadParseStatus.Complete), run.Describe());
            Assert.That(run.Head.Upgrade, Is.EqualTo(upgrade));
        });
    }

    [TestCase("GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n", true)]
    [TestCase("GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue \r\n\r\n", true)]
    [TestCase("GET / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n", false)]
    [TestCase("GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", false)]
    public void TryParseRequest_Expect_ReportsExpectContinue(string head, bool expectContinue)
    {
        var run = new HttpHeadRunner(head);

        Assert.Multiple(() =>
        {
            Assert.That(run.Status, Is.EqualTo(HeadParseStatus.Complete), run.Describe());
            Assert.That(run.Head.ExpectContinue, Is.EqualTo(expectContinue));
        });
    }

    [TestCase("HTTP/1.2")]
    [TestCase("HTTP/1.9")]
    public void TryParseRequest_HigherHttp1MinorVersion_IsTakenAsHttp11(string version)
    {
        // RFC 9110 section 2.5; 505 is only for other major versions (section 15.6.6).
        var run = new HttpHeadRunner($"GET / {version}\r\nHost: a\r\n\r\n");

        Assert.Multiple(() =>
        {
            Assert.That(run.Status, Is.EqualTo(HeadParseStatus.Complete), run.Describe());
            Assert.That(run.Head.MinorVersion, Is.EqualTo(1));
        });
    }

    [TestCase("http://example.com:8080/p?q", "example.com:8080")]
    [TestCase("HTTP://example.com", "example.com")]
    [TestCase("https://[2001:db8::1]:443/", "[2001:db8::1]:443")]
    [TestCase("http://a?x=/", "a")]
    public void TryParseRequest_AbsoluteForm_TakesAuthorityFromTarget(string target, string authority)
    {
        var run = new HttpHeadRunner($"GET {target} HTTP/1.1\r\nHost: other\r\n\r\n");

        Assert.Multiple(() =>
        {
            Assert.That(run.Status, Is.EqualTo(HeadParseStatus.Complete), run.Describe());
            Assert.That(run.Head.AbsoluteForm, Is.True);
            Assert.That(run.Authority, Is.EqualTo(authority));
            Assert.That(run.Target, Is.EqualTo(target));
        });
    }

    [TestCase("a")]
    [TestCase("example.com:8080")]
    [TestCase("127.0.0.1")]
    [TestCase("127.0.0.1:0")]
    [TestCase("999.1.1.1")]
    [TestCase("[::1]")]
    [TestCase("[::]:80")]
    [TestCase("[::ffff:10.0.0.1]")]
    [TestCase("[1:2:3:4:5:6:7:8]:65535")]
    [TestCase("[1:2:3:4:5:6:7::]")]
    [TestCase("xn--bcher-kva.example")]
    [TestCase("a%41b")]
    [TestCase("under_score.example")]
    public void TryParseRequest_ValidHost_IsTheAuthority(string host)
    {
        var run = new HttpHeadRunner($"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n");

        Assert.Multiple(() =>
        {
            Assert.That(run.Status, Is.EqualTo(HeadParseStatus.Complete), run.Describe());
            Assert.That(run.Authority, Is.EqualTo(host));
        });
    }

    [TestCase("GET", HttpMethod.Get)]
    [TestCase("HEAD", HttpMethod.Head)]
    [TestCase("POST", HttpMethod.Post)]
    [TestCase("PUT", HttpMethod.Put)]
    [TestCase("DELETE", HttpMethod.Delete)]
    [TestCase("TRACE", HttpMethod.Trace)]
    [TestCase("PATCH", HttpMethod.Patch)]
    [TestCase("PROPFIND", HttpMethod.Other)]
    [TestCase("get", HttpMethod.Other)]
    public void TryParseRequest_Method_IsClassifiedCaseSensitively(string method, HttpMethod expected)
    {
        var run = new HttpHeadRunner($"{method} / HTTP/1.1\r\nHost: a\r\n\r\n");

        Assert.Multiple(() =>
        {
            Assert.That(run.Status, Is.EqualTo(HeadParseStatus.Complete), run.Describe());
            Assert.That(run.Head.Method, Is.EqualTo(expected));
        });
    }

    [Test]
    public void TryParseRequest_OptionsAsteriskAndConnect_AreAccepted()
    {
        var options = new HttpHeadRunner("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
        var connect = new HttpHeadRunner("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");

        Assert.Multiple(() =>
        {
            Assert.That(options.Status, Is.EqualTo(HeadParseStatus.Complete), options.Describe());
            Assert.That(options.Head.Method, Is.EqualTo(HttpMethod.Options));
            Assert.That(options.Target, Is.EqualTo("*"));
            Assert.That(connect.Status, Is.EqualTo(HeadParseStatus.Complete), connect.Describe());
            Assert.That(connect.Head.Method, Is.EqualTo(HttpMethod.Connect));
            Assert.That(connect.Authority, Is.EqualTo("example.com:443"));
        });
    }

    [TestCase("Host", HeaderKind.Host)]
    [TestCase("content-length", HeaderKind.ContentLength)]
    [TestCase("TRANSFER-ENCODING", HeaderKind.TransferEncoding)]
    [TestCase("Connection", HeaderKind.Connection)]
    [TestCase("Keep-Alive", HeaderKind.KeepAlive)]
    [TestCase("Proxy-Connection", HeaderKind.ProxyConnection)]
    [TestCase("te", HeaderKind.TE)]
    [TestCase("Trailer", HeaderKind.Trailer)]
    [TestCase("upgrade", HeaderKind.Upgrade)]
    [TestCase("Expect", HeaderKind.Expect)]
    [TestCase("x-forwarded-for", HeaderKind.XForwardedFor)]
    [TestCase("X-Forwarded-Proto", HeaderKind.XForwardedProto)]
    [TestCase("X-FORWARDED-HOST", HeaderKind.XForwardedHost)]
    [TestCase("Cookie", HeaderKind.Cookie)]
    [TestCase("Hosts", HeaderKind.Other)]
    [TestCase("Content-Lengt", HeaderKind.Other)]
    [TestCase("Transfer_Encoding", HeaderKind.Other)]
    [TestCase("X-Forwarded-Fox", HeaderKind.Other)]
    public void TryParseRequest_FieldName_IsClassifiedIgnoringCase(string name, HeaderKind kind)
    {
        // Values chosen to be valid for every kind (Host is sent separately, so use it only where needed).
        string value = kind switch
        {
            HeaderKind.ContentLength => "0",
            HeaderKind.TransferEncoding => "chunked",
            _ => "x",
        };
        string head = kind == HeaderKind.Host
            ? $"GET / HTTP/1.1\r\n{name}: {value}\r\n\r\n"
            : $"GET / HTTP/1.1\r\nHost: a\r\n{name}: {value}\r\n\r\n";

        var run = new HttpHeadRunner(head);

        Assert.Multiple(() =>
        {
            Assert.That(run.Status, Is.EqualTo(HeadParseStatus.Complete), run.Describe());
            Assert.That(run.Headers[run.Head.HeaderCount - 1].Kind, Is.EqualTo(kind));
            Assert.That(run.Name(run.Head.HeaderCount - 1), Is.EqualTo(name));
        });
    }

    [TestCase("X: v", "v")]
    [TestCase("X:v", "v")]
    [TestCase("X: \t v \t ", "v")]
    [TestCase("X:", "")]
    [TestCase("X: \t ", "")]
    [TestCase("X: a \t b", "a \t b")]
    [TestCase("X: caf\u00e9", "caf\u00e9")]
    [TestCase("X: \"quoted, value\"", "\"quoted, value\"")]
    public void TryParseRequest_FieldValue_IsTrimmedOfOws(string field, string value)
    {
        var run = new HttpHeadRunner($"GET / HTTP/1.1\r\nHost: a\r\n{field}\r\n\r\n");

        Assert.Multiple(() =>
        {
            Assert.That(run.Status, Is.EqualTo(HeadParseStatus.Complete), run.Describe());
            Assert.That(run.Value(1), Is.EqualTo(value));
            Assert.That(run.Name(1), Is.EqualTo("X"));
            Assert.That(run.Line(1), Is.EqualTo(field + "\r\n"));
        });
    }

    [Test]
    public void TryParseRequest_TooManyHeaders_Returns431()
    {
        var limits = new HttpLimits { MaxHeaders = 3 };

        var atLimit = new HttpHeadRunner("GET / HTTP/1.1\r\nHost: a\r\nB: 1\r\nC: 1\r\n\r\n", limits);
        var overLimit = new HttpHeadRunner("GET / HTTP/1.1\r\nHost: a\r\nB: 1\r\nC: 1\r\nD: 1\r\n\r\n", limits);

        Assert.Multiple(() =>
        {
            Assert.That(atLimit.Status, Is.EqualTo(HeadParseStatus.Complete), atLimit.Describe());
            Assert.That(overLimit.Status, Is.EqualTo(HeadParseStatus.Invalid));
            Assert.That(overLimit.Head.ErrorStatus, Is.EqualTo(431));
        });
    }

    [Test]
    public void TryParseRequest_HeadersSpanShorterThanLimit_Returns431()
    {
        byte[] data = HttpHeadRunner.Bytes("GET / HTTP/1.1\r\nHost: a\r\nB: 1\r\n\r\n");
        HttpMessageHead head = default;

        var status = Http1HeadParser.TryParseRequest(data, HttpLimits.Default, ref head, new HeaderLine[1]);

        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(HeadParseStatus.Invalid));
            Assert.That(head.ErrorStatus, Is.EqualTo(431));
        });
    }

    [Test]
    public void TryParseRequest_HeadAtExactlyMaxHeadBytes_Completes()
    {
        const string head = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        var limits = new HttpLimits { MaxHeadBytes = head.Length };

        var exact = new HttpHeadRunner(head + "trailing body bytes", limits);
        var over = new HttpHeadRunner(head, new HttpLimits { MaxHeadBytes = head.Length - 1 });

        Assert.Multiple(() =>
        {
            Assert.That(exact.Status, Is.EqualTo(HeadParseStatus.Complete), exact.Describe());
            Assert.That(over.Status, Is.EqualTo(HeadParseStatus.Invalid));
            Assert.That(over.Head.ErrorStatus, Is.EqualTo(431));
        });
    }

    [Test]
    public void TryParseRequest_LongHeadWithoutEnd_Returns431OnceOverTheLimit()
    {
        var limits = new HttpLimits { MaxHeadBytes = 64 };
        string head = "GET / HTTP/1.1\r\nHost: a\r\nX: " + new string('a', 100);

        var under = new HttpHeadRunner(head[..63], limits);
        var over = new HttpHeadRunner(head, limits);

        Assert.Multiple(() =>
        {
            Assert.That(under.Status, Is.EqualTo(HeadParseStatus.Incomplete), under.Describe());
            Assert.That(over.Status, Is.EqualTo(HeadParseStatus.Invalid));
            Assert.That(over.Head.ErrorStatus, Is.EqualTo(431));
        });
    }

    [Test]
    public void TryParseRequest_LongRequestLineWithoutCrlf_Returns414()
    {
        var limits = new HttpLimits { MaxHeadBytes = 64 };

        var run = new HttpHeadRunner("GET /" + new string('a', 100), limits);

        Assert.Multiple(() =>
        {
            Assert.That(run.Status, Is.EqualTo(HeadParseStatus.Invalid));
            Assert.That(run.Head.ErrorStatus, Is.EqualTo(414));
        });
    }

    [Test]
    public void TryParseRequest_EndlessEmptyLines_Returns431()
    {
        var limits = new HttpLimits { MaxHeadBytes = 64 };
        string lines = string.Concat(Enumerable.Repeat("\r\n", 40));

        var under = new HttpHeadRunner(lines[..62], limits);
        var over = new HttpHeadRunner(lines, limits);

        Assert.Multiple(() =>
        {
            Assert.That(under.Status, Is.EqualTo(HeadParseStatus.Incomplete), under.Describe());
            Assert.That(over.Status, Is.EqualTo(HeadParseStatus.Invalid));
            Assert.That(over.Head.ErrorStatus, Is.EqualTo(431));
        });
    }

    [TestCase("")]
    [TestCase("G")]
    [TestCase("\r")]
    [TestCase("\r\n")]
    [TestCase("GET / HTTP/1.1\r")]
    [TestCase("GET / HTTP/1.1\r\nHost: a\r\n\r")]
    public void TryParseRequest_PartialHead_ReturnsIncomplete(string partial)
    {
        Assert.That(new HttpHeadRunner(partial).Status, Is.EqualTo(HeadParseStatus.Incomplete));
    }

    [Test]
    public void TryParseRequest_EveryProperPrefixOfValidHead_ReturnsIncomplete()
    {
        foreach (string text in HttpHeadCorpus.ValidRequests)
        {
            byte[] data = HttpHeadRunner.Bytes(text);
            for (int length = 0; length < data.Length; length++)
            {
                var run = new HttpHeadRunner(data[..length]);
                Assert.That(run.Status, Is.EqualTo(HeadParseStatus.Incomplete), $"{length} bytes of {Escape(text)}: {run.Describe()}");
            }
        }
    }

    [Test]
    public void TryParseRequest_ValidHeadFollowedByMoreBytes_GivesSameResult()
    {
        foreach (string text in HttpHeadCorpus.ValidRequests)
        {
            var alone = new HttpHeadRunner(text);
            var followed = new HttpHeadRunner(text + "POST / HTTP/1.1\r\nHost: b\r\n\r\n\n\0");

            Assert.That(alone.Status, Is.EqualTo(HeadParseStatus.Complete), $"{Escape(text)}: {alone.Describe()}");
            Assert.That(followed.Head, Is.EqualTo(alone.Head), Escape(text));
            Assert.That(followed.Headers, Is.EqualTo(alone.Headers), Escape(text));
            Assert.That(alone.Head.HeadLength, Is.EqualTo(alone.Data.Length), Escape(text));
        }
    }

    [Test]
    public void TryParseRequest_ReusedHeadStruct_IsResetBetweenCalls()
    {
        var headers = new HeaderLine[100];
        HttpMessageHead head = default;
        Http1HeadParser.TryParseRequest(HttpHeadRunner.Bytes("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\n"), HttpLimits.Default, ref head, headers);

        var status = Http1HeadParser.TryParseRequest(HttpHeadRunner.Bytes("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), HttpLimits.Default, ref head, headers);

        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(HeadParseStatus.Complete));
            Assert.That(head.ContentLength, Is.EqualTo(-1));
            Assert.That(head.ConnectionClose, Is.False);
            Assert.That(head.HeaderCount, Is.EqualTo(1));
        });
    }

    [Test]
    public void TryParseRequest_WarmedUp_AllocatesNothing()
    {
        byte[][] heads = HttpHeadCorpus.ValidRequests.Select(HttpHeadRunner.Bytes)
            .Append(HttpHeadRunner.Bytes(H + "Transfer-Encoding: gzip, chunked\r\n\r\n"))
            .Append(HttpHeadRunner.Bytes(H + "X: a\nb\r\n\r\n"))
            .Append(HttpHeadRunner.Bytes("GET / HTTP/1.1\r\nHost"))
            .ToArray();
        var headers = new HeaderLine[100];
        HttpMessageHead head = default;
        foreach (byte[] data in heads)
        {
            Http1HeadParser.TryParseRequest(data, HttpLimits.Default, ref head, headers);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            foreach (byte[] data in heads)
            {
                Http1HeadParser.TryParseRequest(data, HttpLimits.Default, ref head, headers);
            }
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }

    internal static string Escape(string text) =>
        text.Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}
