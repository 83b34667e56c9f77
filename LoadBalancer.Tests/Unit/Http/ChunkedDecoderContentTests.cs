using System.Text;
using LoadBalancer.Core.Http;
using LoadBalancer.Tests.TestSupport;
using NUnit.Framework;
using LoadBalancer.Core.Http1;

namespace LoadBalancer.Tests.Unit.Http;

/// <summary><see cref="ChunkedDecoder.AdvanceContent"/>: the content taken out of the framing, whatever the split points.</summary>
[TestFixture]
public sealed class ChunkedDecoderContentTests
{
    [Test]
    public void AdvanceContent_TwoChunksExtensionAndTrailer_YieldsDataOnly()
    {
        var body = Encoding.ASCII.GetBytes("5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nT: v\r\n\r\nNEXT");

        var (status, consumed, content) = Decode(body, []);

        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(ChunkedStatus.Done));
            Assert.That(consumed, Is.EqualTo(body.Length - 4));
            Assert.That(Encoding.ASCII.GetString(content), Is.EqualTo("hello world"));
        });
    }

    [TestCaseSource(typeof(ChunkedDecoderTests), nameof(ChunkedDecoderTests.ValidBodies))]
    public void AdvanceContent_EverySplitPoint_GivesSameContentAsWhole(string text)
    {
        var body = HttpHeadRunner.Bytes(text);
        var expected = ReferenceContent(body);
        var (wholeStatus, wholeConsumed, whole) = Decode(body, []);
        Assert.Multiple(() =>
        {
            Assert.That(wholeStatus, Is.EqualTo(ChunkedStatus.Done));
            Assert.That(wholeConsumed, Is.EqualTo(body.Length));
            Assert.That(whole, Is.EqualTo(expected));
        });

        for (var split = 1; split < body.Length; split++)
        {
            var (status, consumed, content) = Decode(body, [split]);
            Assert.That((status, consumed, content), Is.EqualTo((ChunkedStatus.Done, (long)body.Length, expected)), $"split at {split}");
        }

        var (oneStatus, oneConsumed, oneByOne) = Decode(body, Enumerable.Repeat(1, body.Length).ToArray());
        Assert.That((oneStatus, oneConsumed, oneByOne), Is.EqualTo((ChunkedStatus.Done, (long)body.Length, expected)), "one byte at a time");
    }

    [Test]
    public void InTrailerSection_BytesConsumedThere_AreExactlyTheTrailerSection_AtEverySplitPoint()
    {
        var body = Encoding.ASCII.GetBytes("5\r\nhello\r\n0;last=1\r\ngrpc-status: 0\r\nX-Sum:\tabc \r\n\r\nNEXT");
        const string section = "grpc-status: 0\r\nX-Sum:\tabc \r\n\r\n";

        for (var split = 0; split < body.Length; split++)
        {
            var decoder = default(ChunkedDecoder);
            var trailers = new List<byte>();
            var status = ChunkedStatus.NeedMore;
            foreach (var piece in new[] { body[..split], body[split..] })
            {
                var rest = piece.AsSpan();
                while (!rest.IsEmpty && status == ChunkedStatus.NeedMore)
                {
                    var inTrailers = decoder.InTrailerSection;
                    status = decoder.AdvanceContent(rest, out var consumed, out var content);
                    Assert.That(!inTrailers || content == 0, "no chunk data inside the trailer section");
                    if (inTrailers)
                    {
                        trailers.AddRange(rest[..consumed].ToArray());
                    }

                    rest = rest[consumed..];
                }
            }

            Assert.That((status, Encoding.ASCII.GetString([.. trailers])), Is.EqualTo((ChunkedStatus.Done, section)), $"split at {split}");
        }
    }

    [Test]
    public void AdvanceContent_MalformedFraming_ReturnsInvalid()
    {
        var body = Encoding.ASCII.GetBytes("5\r\nhelloX\r\n0\r\n\r\n");

        var (status, consumed, _) = Decode(body, []);

        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(ChunkedStatus.Invalid));
            Assert.That(consumed, Is.EqualTo(8));
        });
    }

    /// <summary>Feeds the body in the given segment sizes (the rest in one piece), calling AdvanceContent until each segment is used up.</summary>
    private static (ChunkedStatus Status, long Consumed, byte[] Content) Decode(byte[] body, int[] segments)
    {
        var decoder = default(ChunkedDecoder);
        var content = new List<byte>();
        long total = 0;
        var pos = 0;
        var sizes = segments.Append(body.Length).ToArray();
        foreach (var size in sizes)
        {
            var piece = body.AsSpan(pos, Math.Min(size, body.Length - pos));
            pos += piece.Length;
            while (true)
            {
                var status = decoder.AdvanceContent(piece, out var consumed, out var data);
                Assert.That(data == 0 || data == consumed, "a call yields framing or data, not both");
                content.AddRange(piece.Slice(consumed - data, data).ToArray());
                total += consumed;
                piece = piece[consumed..];
                if (status != ChunkedStatus.NeedMore)
                {
                    return (status, total, content.ToArray());
                }

                if (piece.IsEmpty)
                {
                    break;
                }

                Assert.That(consumed, Is.GreaterThan(0), "NeedMore with bytes left must make progress");
            }
        }

        return (ChunkedStatus.NeedMore, total, content.ToArray());
    }

    /// <summary>A deliberately naive decoder for valid bodies: size before ';' or whitespace, data, CRLF, until size 0.</summary>
    private static byte[] ReferenceContent(byte[] body)
    {
        var content = new List<byte>();
        var pos = 0;
        while (true)
        {
            var lineEnd = body.AsSpan(pos).IndexOf("\r\n"u8) + pos;
            var line = Encoding.Latin1.GetString(body, pos, lineEnd - pos);
            var sizeText = line.Split(';', ' ', '\t')[0];
            var size = Convert.ToInt64(sizeText, 16);
            pos = lineEnd + 2;
            if (size == 0)
            {
                return content.ToArray();
            }

            content.AddRange(body.AsSpan(pos, (int)size).ToArray());
            pos += (int)size + 2;
        }
    }
}
