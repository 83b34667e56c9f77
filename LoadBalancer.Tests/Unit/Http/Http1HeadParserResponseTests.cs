using LoadBalancer.Core.Http;
using LoadBalancer.Tests.TestSupport;
using NUnit.Framework;

namespace LoadBalancer.Tests.Unit.Http;

[TestFixture]
public sealed class Http1HeadParserResponseTests
{
    private static TestCaseData Bad(string name, string head) => new TestCaseData(head).SetArgDisplayNames(name);

    private static IEnumerable<TestCaseData> InvalidResponses()
    {
        yield return Bad("lowercase version", "http/1.1 200 OK\r\n\r\n");
        yield return Bad("HTTP/2.0", "HTTP/2.0 200 OK\r\n\r\n");
        yield return Bad("HTTP/1.2", "HTTP/1.2 200 OK\r\n\r\n");
        yield return Bad("HTTP/2 short", "HTTP/2 200 OK\r\n\r\n");
        yield return Bad("two-digit status", "HTTP/1.1 20 OK\r\n\r\n");
        yield return Bad("four-digit status", "HTTP/1.1 2000 OK\r\n\r\n");
        yield return Bad("status below 100", "HTTP/1.1 099 Low\r\n\r\n");
        yield return Bad("status above 599", "HTTP/1.1 600 High\r\n\r\n");
        yield return Bad("double space", "HTTP/1.1  200 OK\r\n\r\n");
        yield return Bad("tab separator", "HTTP/1.1\t200 OK\r\n\r\n");
        yield return Bad("leading empty line", "\r\nHTTP/1.1 200 OK\r\n\r\n");
        yield return Bad("CTL in reason", "HTTP/1.1 200 O\u0001K\r\n\r\n");
        yield return Bad("bare LF status line", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n");
        yield return Bad("bare LF head", "HTTP/1.1 200 OK\nContent-Length: 0\n\n");
        yield return Bad("bare CR", "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n");
        yield return Bad("obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n");
        yield return Bad("NUL in value", "HTTP/1.1 200 OK\r\nX: \0\r\n\r\n");
        yield return Bad("space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\n");
        yield return Bad("CL differing", "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n");
        yield return Bad("CL sign", "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n");
        yield return Bad("CL plus TE", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n");
        yield return Bad("CL plus close-delimited TE", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\n");
        yield return Bad("chunked twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n");
        yield return Bad("chunked with parameter", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;x=1\r\n\r\n");
        yield return Bad("empty TE", "HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n\r\n");
        yield return Bad("TE in HTTP/1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        yield return Bad("too many headers", "HTTP/1.1 200 OK\r\n" + string.Concat(Enumerable.Repeat("X: 1\r\n", 101)) + "\r\n");
    }

    [TestCaseSource(nameof(InvalidResponses))]
    public void TryParseResponse_MalformedHead_ReturnsInvalidWith502(string head)
    {
        var run = new HttpHeadRunner(head, response: true);

        Assert.Multiple(() =>
        {
            Assert.That(run.Status, Is.EqualTo(HeadParseStatus.Invalid), run.Describe());
            Assert.That(run.Head.ErrorStatus, Is.EqualTo(502));
            Assert.That(run.Head.ErrorReason, Is.Not.Null.And.Not.Empty);
        });
    }

    [TestCase("HTTP/1.1 200 OK\r\n\r\n", 200, 1)]
    [TestCase("HTTP/1.1 204\r\n\r\n", 204, 1)]
    [TestCase("HTTP/1.1 200 \r\n\r\n", 200, 1)]
    [TestCase("HTTP/1.0 404 Not Found\r\n\r\n", 404, 0)]
    [TestCase("HTTP/1.1 599 x\ty \u00e9\r\n\r\n", 599, 1)]
    [TestCase("HTTP/1.1 100 Continue\r\n\r\n", 100, 1)]
    public void TryParseResponse_StatusLine_ReportsCodeAndVersion(string head, int code, int minor)
    {
        var run = new HttpHeadRunner(head, response: true);

        Assert.Multiple(() =>
        {
            Assert.That(run.Status, Is.EqualTo(HeadParseStatus.Complete), run.Describe());
            Assert.That(run.Head.StatusCode, Is.EqualTo(code));
            Assert.That(run.Head.MinorVersion, Is.EqualTo(minor));
            Assert.That(run.Head.HeadLength, Is.EqualTo(run.Data.Length));
        });
    }

    [TestCase("Content-Length: 5", 5L, false, false)]
    [TestCase("Content-Length: 5\r\nContent-Length: 5", 5L, false, false)]
    [TestCase("Transfer-Encoding: chunked", -1L, true, false)]
    [TestCase("Transfer-Encoding: gzip, chunked", -1L, true, false)]
    [TestCase("Transfer-Encoding: gzip", -1L, false, true)]
    [TestCase("Transfer-Encoding: chunked, gzip", -1L, false, true)]
    [TestCase("Transfer-Encoding: chunked\r\nTransfer-Encoding: identity", -1L, false, true)]
    [TestCase("X: 1", -1L, false, false)]
    public void TryParseResponse_Framing_ReportsLengthChunkedOrCloseDelimited(string field, long length, bool chunked, bool close)
    {
        var run = new HttpHeadRunner($"HTTP/1.1 200 OK\r\n{field}\r\n\r\n", response: true);

        Assert.Multiple(() =>
        {
            Assert.That(run.Status, Is.EqualTo(HeadParseStatus.Complete), run.Describe());
            Assert.That(run.Head.ContentLength, Is.EqualTo(length));
            Assert.That(run.Head.Chunked, Is.EqualTo(chunked));
            Assert.That(run.Head.ConnectionClose, Is.EqualTo(close));
        });
    }

    [TestCase("HTTP/1.1 200 OK\r\n\r\n", false)]
    [TestCase("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", true)]
    [TestCase("HTTP/1.0 200 OK\r\n\r\n", true)]
    [TestCase("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n", false)]
    public void TryParseResponse_Connection_ReportsClose(string head, bool close)
    {
        var run = new HttpHeadRunner(head, response: true);

        Assert.Multiple(() =>
        {
            Assert.That(run.Status, Is.EqualTo(HeadParseStatus.Complete), run.Describe());
            Assert.That(run.Head.ConnectionClose, Is.EqualTo(close));
        });
    }

    [Test]
    public void TryParseResponse_SwitchingProtocols_ReportsUpgrade()
    {
        var run = new HttpHeadRunner("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", response: true);

        Assert.Multiple(() =>
        {
            Assert.That(run.Status, Is.EqualTo(HeadParseStatus.Complete), run.Describe());
            Assert.That(run.Head.Upgrade, Is.True);
        });
    }

    [Test]
    public void TryParseResponse_NoHostNeeded_Completes()
    {
        var run = new HttpHeadRunner("HTTP/1.1 200 OK\r\nHost: a\r\nHost: b\r\n\r\n", response: true);

        Assert.That(run.Status, Is.EqualTo(HeadParseStatus.Complete), run.Describe());
    }

    [Test]
    public void TryParseResponse_OverLimitWithoutEnd_ReturnsInvalidWith502()
    {
        var run = new HttpHeadRunner("HTTP/1.1 200 OK\r\nX: " + new string('a', 100), new HttpLimits { MaxHeadBytes = 64 }, response: true);

        Assert.Multiple(() =>
        {
            Assert.That(run.Status, Is.EqualTo(HeadParseStatus.Invalid));
            Assert.That(run.Head.ErrorStatus, Is.EqualTo(502));
        });
    }

    [Test]
    public void TryParseResponse_EveryProperPrefixOfValidHead_ReturnsIncomplete()
    {
        foreach (string text in HttpHeadCorpus.ValidResponses)
        {
            byte[] data = HttpHeadRunner.Bytes(text);
            for (int length = 0; length < data.Length; length++)
            {
                var run = new HttpHeadRunner(data[..length], response: true);
                Assert.That(run.Status, Is.EqualTo(HeadParseStatus.Incomplete), $"{length} bytes of {Http1HeadParserRequestTests.Escape(text)}: {run.Describe()}");
            }
        }
    }

    [Test]
    public void TryParseResponse_ValidHeadFollowedByBody_GivesSameResult()
    {
        foreach (string text in HttpHeadCorpus.ValidResponses)
        {
            var alone = new HttpHeadRunner(text, response: true);
            var followed = new HttpHeadRunner(text + "hello\r\n\r\n\n", response: true);

            Assert.That(alone.Status, Is.EqualTo(HeadParseStatus.Complete), $"{Http1HeadParserRequestTests.Escape(text)}: {alone.Describe()}");
            Assert.That(followed.Head, Is.EqualTo(alone.Head));
            Assert.That(followed.Headers, Is.EqualTo(alone.Headers));
        }
    }
}
