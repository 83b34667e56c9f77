using LoadBalancer.Core.Http;
using LoadBalancer.Tests.TestSupport;
using NUnit.Framework;
using LoadBalancer.Core.Http1;

namespace LoadBalancer.Tests.Unit.Http;

[TestFixture]
public sealed class ChunkedDecoderTests
{
    internal static IEnumerable<TestCaseData> ValidBodies() =>
        HttpHeadCorpus.ValidChunkedBodies.Select(b => new TestCaseData(b).SetArgDisplayNames(Http1HeadParserRequestTests.Escape(b)));

    private static TestCaseData Bad(string name, string body) => new TestCaseData(body).SetArgDisplayNames(name);

    private static IEnumerable<TestCaseData> InvalidBodies()
    {
        yield return Bad("bare LF after size", "5\nhello\r\n0\r\n\r\n");
        yield return Bad("bare CR after size", "5\rhello\r\n0\r\n\r\n");
        yield return Bad("data longer than size", "5\r\nhelloX\r\n0\r\n\r\n");
        yield return Bad("bare LF after data", "5\r\nhello\n0\r\n\r\n");
        yield return Bad("no CRLF after data", "5\r\nhello0\r\n\r\n");
        yield return Bad("not hex", "g\r\n");
        yield return Bad("empty size", "\r\n");
        yield return Bad("leading space", " 5\r\nhello\r\n0\r\n\r\n");
        yield return Bad("trailing space without extension", "5 \r\nhello\r\n0\r\n\r\n");
        yield return Bad("sign", "+5\r\nhello\r\n0\r\n\r\n");
        yield return Bad("negative", "-5\r\nhello\r\n0\r\n\r\n");
        yield return Bad("0x prefix", "0x5\r\nhello\r\n0\r\n\r\n");
        yield return Bad("16 significant hex digits", "1000000000000000\r\n");
        yield return Bad("overflowing size", "FFFFFFFFFFFFFFFFF\r\n");
        yield return Bad("empty extension name", "5;\r\nhello\r\n0\r\n\r\n");
        yield return Bad("empty extension value", "5;a=\r\nhello\r\n0\r\n\r\n");
        yield return Bad("extension name with space", "5;a b\r\nhello\r\n0\r\n\r\n");
        yield return Bad("extension trailing space", "5;a \r\nhello\r\n0\r\n\r\n");
        yield return Bad("unterminated quote", "5;a=\"x\r\nhello\r\n0\r\n\r\n");
        yield return Bad("CTL in quoted value", "5;a=\"\u0001\"\r\nhello\r\n0\r\n\r\n");
        yield return Bad("NUL in extension", "5;a\0\r\nhello\r\n0\r\n\r\n");
        yield return Bad("bare LF after extension", "5;a=b\nhello\r\n0\r\n\r\n");
        yield return Bad("trailer obs-fold", "0\r\nX: a\r\n b\r\n\r\n");
        yield return Bad("trailer space before colon", "0\r\nX : a\r\n\r\n");
        yield return Bad("trailer without colon", "0\r\nX\r\n\r\n");
        yield return Bad("trailer empty name", "0\r\n: a\r\n\r\n");
        yield return Bad("trailer NUL", "0\r\nX: a\0\r\n\r\n");
        yield return Bad("trailer bare CR", "0\r\nX: a\rb\r\n\r\n");
        yield return Bad("trailer bare LF", "0\r\nX: a\n\r\n");
        yield return Bad("bare LF ending", "0\r\n\n");
        yield return Bad("CR CR ending", "0\r\n\r\r");
        yield return Bad("trailer too large", "0\r\nX: " + new string('a', ChunkedDecoder.MaxTrailerBytes) + "\r\n\r\n");
        yield return Bad("many trailers too large", "0\r\n" + string.Concat(Enumerable.Repeat("X: a\r\n", 3000)) + "\r\n");
        yield return Bad("chunk line too long", "5;a=" + new string('b', ChunkedDecoder.MaxChunkLineBytes) + "\r\nhello\r\n0\r\n\r\n");
        yield return Bad("leading zeros too long", new string('0', ChunkedDecoder.MaxChunkLineBytes) + "5\r\nhello\r\n0\r\n\r\n");
    }

    [TestCaseSource(nameof(ValidBodies))]
    public void Advance_ValidBodyInOnePiece_ReturnsDoneAfterWholeBody(string text)
    {
        byte[] body = HttpHeadRunner.Bytes(text);

        var (status, consumed) = ChunkedFeeder.FeedWhole(body);

        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(ChunkedStatus.Done));
            Assert.That(consumed, Is.EqualTo(body.Length));
        });
    }

    [TestCaseSource(nameof(ValidBodies))]
    public void Advance_ValidBodyFollowedByNextMessage_StopsAtBodyEnd(string text)
    {
        byte[] body = HttpHeadRunner.Bytes(text + "GET / HTTP/1.1\r\n");

        var (status, consumed) = ChunkedFeeder.FeedWhole(body);

        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(ChunkedStatus.Done));
            Assert.That(consumed, Is.EqualTo(text.Length));
        });
    }

    [TestCaseSource(nameof(ValidBodies))]
    public void Advance_ValidBodySplitAtEveryByte_ReturnsSameResult(string text)
    {
        byte[] body = HttpHeadRunner.Bytes(text + "NEXT");
        for (int split = 0; split <= body.Length; split++)
        {
            var (status, consumed) = ChunkedFeeder.Feed(body, [split]);
            Assert.That((status, consumed), Is.EqualTo((ChunkedStatus.Done, (long)text.Length)), $"split at {split}");
        }

        var oneByOne = ChunkedFeeder.Feed(body, Enumerable.Repeat(1, body.Length).ToArray());
        Assert.That(oneByOne, Is.EqualTo((ChunkedStatus.Done, (long)text.Length)), "one byte at a time");
    }

    [TestCaseSource(nameof(ValidBodies))]
    public void Advance_ValidBodyInRandomSegments_ReturnsSameResult(string text)
    {
        byte[] body = HttpHeadRunner.Bytes(text);
        var random = new Random(20240611);
        for (int round = 0; round < 200; round++)
        {
            int[] segments = ChunkedFeeder.RandomSegments(random, body.Length, random.Next(1, 8));
            Assert.That(ChunkedFeeder.Feed(body, segments), Is.EqualTo((ChunkedStatus.Done, (long)body.Length)), string.Join(",", segments));
        }
    }

    [Test]
    public void Advance_LargeChunk_SkipsDataInBulk()
    {
        const int size = 1 << 20;
        byte[] body = [.. HttpHeadRunner.Bytes("100000\r\n"), .. new byte[size], .. HttpHeadRunner.Bytes("\r\n0\r\n\r\n")];
        var decoder = default(ChunkedDecoder);

        var first = decoder.Advance(body.AsSpan(0, 8 + 1000), out int consumedFirst);
        var second = decoder.Advance(body.AsSpan(8 + 1000), out int consumedSecond);

        Assert.Multiple(() =>
        {
            Assert.That(first, Is.EqualTo(ChunkedStatus.NeedMore));
            Assert.That(consumedFirst, Is.EqualTo(1008));
            Assert.That(second, Is.EqualTo(ChunkedStatus.Done));
            Assert.That(consumedSecond, Is.EqualTo(body.Length - 1008));
            Assert.That(decoder.IsDone, Is.True);
        });
    }

    [Test]
    public void Advance_MaxSizeDigits_IsAccepted()
    {
        var decoder = default(ChunkedDecoder);

        var status = decoder.Advance(HttpHeadRunner.Bytes("FFFFFFFFFFFFFFF\r\nabc"), out int consumed);

        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(ChunkedStatus.NeedMore));
            Assert.That(consumed, Is.EqualTo(20));
        });
    }

    [Test]
    public void Advance_EmptyPiece_NeedsMoreAndConsumesNothing()
    {
        var decoder = default(ChunkedDecoder);

        var status = decoder.Advance([], out int consumed);

        Assert.That((status, consumed), Is.EqualTo((ChunkedStatus.NeedMore, 0)));
    }

    [Test]
    public void Advance_AfterDone_ConsumesNothing()
    {
        var decoder = default(ChunkedDecoder);
        decoder.Advance(HttpHeadRunner.Bytes("0\r\n\r\n"), out _);

        var status = decoder.Advance(HttpHeadRunner.Bytes("GET"), out int consumed);

        Assert.That((status, consumed), Is.EqualTo((ChunkedStatus.Done, 0)));
    }

    [Test]
    public void Advance_AfterInvalid_StaysInvalid()
    {
        var decoder = default(ChunkedDecoder);
        decoder.Advance(HttpHeadRunner.Bytes("x"), out _);

        var status = decoder.Advance(HttpHeadRunner.Bytes("0\r\n\r\n"), out int consumed);

        Assert.That((status, consumed), Is.EqualTo((ChunkedStatus.Invalid, 0)));
    }

    [TestCaseSource(nameof(InvalidBodies))]
    public void Advance_InvalidBody_ReturnsInvalidAtEverySplit(string text)
    {
        byte[] body = HttpHeadRunner.Bytes(text);
        var whole = ChunkedFeeder.FeedWhole(body);
        Assert.That(whole.Status, Is.EqualTo(ChunkedStatus.Invalid));

        // Splitting must not change where the error is found.
        int step = Math.Max(1, body.Length / 200);
        for (int split = 0; split <= body.Length; split += step)
        {
            Assert.That(ChunkedFeeder.Feed(body, [split]), Is.EqualTo(whole), $"split at {split}");
        }

        if (body.Length < 200)
        {
            Assert.That(ChunkedFeeder.Feed(body, Enumerable.Repeat(1, body.Length).ToArray()), Is.EqualTo(whole), "one byte at a time");
        }
    }

    [Test]
    public void Advance_WarmedUp_AllocatesNothing()
    {
        byte[][] bodies = HttpHeadCorpus.ValidChunkedBodies.Select(HttpHeadRunner.Bytes).ToArray();
        for (int i = 0; i < 2; i++)
        {
            foreach (byte[] body in bodies)
            {
                var decoder = default(ChunkedDecoder);
                decoder.Advance(body, out _);
            }
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        foreach (byte[] body in bodies)
        {
            var decoder = default(ChunkedDecoder);
            for (int i = 0; i < body.Length; i++)
            {
                decoder.Advance(body.AsSpan(i, 1), out _);
            }
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }
}
