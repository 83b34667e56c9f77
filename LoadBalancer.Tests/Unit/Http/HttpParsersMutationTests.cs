using System.Text;
using LoadBalancer.Core.Http;
using LoadBalancer.Tests.TestSupport;
using NUnit.Framework;
using LoadBalancer.Core.Http1;

namespace LoadBalancer.Tests.Unit.Http;

/// <summary>
/// Seeded random mutations of valid heads and chunked bodies: nothing may throw, and whatever the parsers accept must
/// be internally consistent. Fixed seed and budget, so a failure reproduces and the run stays short.
/// </summary>
[TestFixture]
public sealed class HttpParsersMutationTests
{
    // LB_SEED / LB_MUT override the seed and budget for longer local soak runs; CI uses the fixed defaults.
    private static readonly int Seed = int.Parse(Environment.GetEnvironmentVariable("LB_SEED") ?? "9112");
    private static readonly int Mutations = int.Parse(Environment.GetEnvironmentVariable("LB_MUT") ?? "20000");

    private static readonly byte[] InterestingBytes =
        "\r\n \t:,;=\"\\09aFz@[]/?#%*-+xX\0\u000b\u000c\u007f\u0080\u00ff"u8.ToArray();

    private static readonly string[] InterestingText =
    [
        "\r\n", "\r\n\r\n", "\n", " ", "chunked", ", ", "Content-Length: 5\r\n", "Transfer-Encoding: chunked\r\n",
        "Host: b\r\n", "HTTP/1.1", ";ext=\"v\"", "0\r\n\r\n", "Connection: close\r\n", "FFFFFFFFFFFFFFFF",
    ];

    [Test]
    public void TryParse_RandomMutationsOfValidInput_NeverThrowAndStayConsistent()
    {
        var random = new Random(Seed);
        byte[][] requests = HttpHeadCorpus.ValidRequests.Select(HttpHeadRunner.Bytes).ToArray();
        byte[][] responses = HttpHeadCorpus.ValidResponses.Select(HttpHeadRunner.Bytes).ToArray();
        byte[][] bodies = HttpHeadCorpus.ValidChunkedBodies.Select(HttpHeadRunner.Bytes).ToArray();
        var headers = new HeaderLine[HttpLimits.Default.MaxHeaders];
        var outcomes = new int[3, 3];

        for (int n = 0; n < Mutations; n++)
        {
            int kind = n % 3;
            byte[][] corpus = kind switch { 0 => requests, 1 => responses, _ => bodies };
            byte[] data = Mutate(random, corpus[random.Next(corpus.Length)]);
            HttpLimits limits = random.Next(4) == 0
                ? new HttpLimits { MaxHeadBytes = random.Next(8, 300), MaxHeaders = random.Next(0, 8) }
                : HttpLimits.Default;

            if (kind == 2)
            {
                outcomes[kind, (int)CheckChunked(random, data)]++;
                continue;
            }

            bool response = kind == 1;
            HttpMessageHead head = default;
            HeadParseStatus status = response
                ? Http1HeadParser.TryParseResponse(data, limits, ref head, headers)
                : Http1HeadParser.TryParseRequest(data, limits, ref head, headers);
            outcomes[kind, (int)status]++;
            CheckHead(data, limits, response, status, head, headers, checkPrefixes: n % 64 == 0);
        }

        // The mutations must exercise every outcome, or the test proves little.
        TestContext.Out.WriteLine($"requests  incomplete/complete/invalid: {outcomes[0, 0]}/{outcomes[0, 1]}/{outcomes[0, 2]}");
        TestContext.Out.WriteLine($"responses incomplete/complete/invalid: {outcomes[1, 0]}/{outcomes[1, 1]}/{outcomes[1, 2]}");
        TestContext.Out.WriteLine($"chunked   needmore/done/invalid:       {outcomes[2, 0]}/{outcomes[2, 1]}/{outcomes[2, 2]}");
        for (int kind = 0; kind < 3; kind++)
        {
            for (int outcome = 0; outcome < 3; outcome++)
            {
                Assert.That(outcomes[kind, outcome], Is.GreaterThan(100), $"kind {kind} outcome {outcome}");
            }
        }
    }

    private static byte[] Mutate(Random random, byte[] original)
    {
        var bytes = new List<byte>(original);
        int count = random.Next(1, 5);
        for (int m = 0; m < count; m++)
        {
            int pos = random.Next(bytes.Count + 1);
            switch (random.Next(7))
            {
                case 0 when pos < bytes.Count:
                    bytes[pos] = Pick(random);
                    break;
                case 1:
                    bytes.Insert(pos, Pick(random));
                    break;
                case 2 when pos < bytes.Count:
                    bytes.RemoveAt(pos);
                    break;
                case 3 when pos < bytes.Count:
                    int length = Math.Min(random.Next(1, 17), bytes.Count - pos);
                    bytes.InsertRange(random.Next(bytes.Count + 1), bytes.GetRange(pos, length));
                    break;
                case 4:
                    bytes.RemoveRange(pos, bytes.Count - pos);
                    break;
                case 5 when pos < bytes.Count:
                    bytes[pos] = (byte)(bytes[pos] ^ 0x20);
                    break;
                default:
                    bytes.InsertRange(pos, Encoding.Latin1.GetBytes(InterestingText[random.Next(InterestingText.Length)]));
                    break;
            }
        }

        return bytes.ToArray();
    }

    private static byte Pick(Random random) =>
        random.Next(3) == 0 ? (byte)random.Next(256) : InterestingBytes[random.Next(InterestingBytes.Length)];

    private static ChunkedStatus CheckChunked(Random random, byte[] data)
    {
        var whole = ChunkedFeeder.FeedWhole(data);
        Check(whole.Consumed <= data.Length, "chunked consumed beyond input", data);
        Check(whole.Status != ChunkedStatus.NeedMore || whole.Consumed == data.Length, "NeedMore without consuming all", data);

        // Where the body ends or breaks must not depend on how the stream was split.
        int[] segments = ChunkedFeeder.RandomSegments(random, data.Length, random.Next(1, 6));
        Check(ChunkedFeeder.Feed(data, segments) == whole, "chunked result depends on split points", data);
        return whole.Status;
    }

    private static void CheckHead(byte[] data, HttpLimits limits, bool response, HeadParseStatus status, in HttpMessageHead head, HeaderLine[] headers, bool checkPrefixes)
    {
        switch (status)
        {
            case HeadParseStatus.Incomplete:
                Check(data.Length < limits.MaxHeadBytes, "Incomplete at or over the head limit", data);
                Check(head.ErrorStatus == 0 && head.ErrorReason is null, "Incomplete with an error", data);
                return;

            case HeadParseStatus.Invalid:
                Check(head.ErrorReason is not null, "Invalid without a reason", data);
                Check(response ? head.ErrorStatus == 502 : head.ErrorStatus is 400 or 414 or 431 or 501 or 505, $"unexpected status {head.ErrorStatus}", data);
                return;
        }

        int length = head.HeadLength;
        ReadOnlySpan<byte> span = data;
        Check(length >= 4 && length <= data.Length && length <= limits.MaxHeadBytes, "HeadLength out of bounds", data);
        Check(span[(length - 4)..length].SequenceEqual("\r\n\r\n"u8), "head does not end in CRLFCRLF", data);
        Check(head.ErrorStatus == 0 && head.ErrorReason is null, "Complete with an error", data);
        Check(head.MinorVersion is 0 or 1, "bad minor version", data);
        Check(head.ContentLength >= -1 && !(head.Chunked && head.ContentLength >= 0), "inconsistent framing", data);
        Check(head.HeaderCount >= 0 && head.HeaderCount <= Math.Min(limits.MaxHeaders, headers.Length), "HeaderCount out of bounds", data);

        int lineStart;
        if (response)
        {
            Check(head.StatusCode is >= 100 and <= 599, "bad status code", data);
            lineStart = span.IndexOf("\r\n"u8) + 2;
        }
        else
        {
            Check(head.MethodStart >= 0 && head.MethodLength > 0 && head.MethodStart + head.MethodLength + 1 == head.TargetStart, "method offsets", data);
            Check(head.MethodStart == 0 || span[..head.MethodStart].Trim("\r\n"u8).IsEmpty, "only empty lines before the method", data);
            Check(head.TargetLength > 0 && head.TargetStart + head.TargetLength + 11 <= length, "target offsets", data);
            Check(head.AuthorityStart >= 0 && head.AuthorityLength >= 0 && head.AuthorityStart + head.AuthorityLength <= length, "authority offsets", data);
            if (head.AbsoluteForm)
            {
                Check(head.AuthorityStart > head.TargetStart && head.AuthorityStart + head.AuthorityLength <= head.TargetStart + head.TargetLength, "authority outside target", data);
            }

            lineStart = head.TargetStart + head.TargetLength + 11;
        }

        for (int i = 0; i < head.HeaderCount; i++)
        {
            HeaderLine line = headers[i];
            Check(line.LineStart == lineStart, "header lines not contiguous", data);
            Check(line.NameStart == line.LineStart && line.NameLength > 0 && span[line.NameStart + line.NameLength] == (byte)':', "name offsets", data);
            Check(span.Slice(line.NameStart, line.NameLength).IndexOfAnyExcept(HttpChars.Token) < 0, "name not a token", data);
            int lineEnd = line.LineStart + line.LineLength;
            Check(lineEnd <= length - 2 && span[(lineEnd - 2)..lineEnd].SequenceEqual("\r\n"u8), "line not ending in CRLF", data);
            Check(line.ValueStart > line.NameStart + line.NameLength && line.ValueLength >= 0 && line.ValueStart + line.ValueLength <= lineEnd - 2, "value offsets", data);
            ReadOnlySpan<byte> value = span.Slice(line.ValueStart, line.ValueLength);
            Check(value.IndexOfAny(HttpChars.ValueStop) < 0, "CTL in accepted value", data);
            Check(value.IsEmpty || (!HttpChars.IsWhitespace(value[0]) && !HttpChars.IsWhitespace(value[^1])), "value not trimmed", data);
            lineStart = lineEnd;
        }

        Check(lineStart == length - 2, "header lines do not reach the end of the head", data);

        // The head alone must parse the same: the parser never looks past HeadLength.
        var headersAgain = new HeaderLine[headers.Length];
        HttpMessageHead again = default;
        HeadParseStatus statusAgain = response
            ? Http1HeadParser.TryParseResponse(span[..length], limits, ref again, headersAgain)
            : Http1HeadParser.TryParseRequest(span[..length], limits, ref again, headersAgain);
        Check(statusAgain == status && again.Equals(head) && headersAgain.AsSpan(0, head.HeaderCount).SequenceEqual(headers.AsSpan(0, head.HeaderCount)), "head alone parses differently", data);

        if (checkPrefixes)
        {
            for (int prefix = 0; prefix < length; prefix++)
            {
                HttpMessageHead partial = default;
                HeadParseStatus partialStatus = response
                    ? Http1HeadParser.TryParseResponse(span[..prefix], limits, ref partial, headersAgain)
                    : Http1HeadParser.TryParseRequest(span[..prefix], limits, ref partial, headersAgain);
                Check(partialStatus == HeadParseStatus.Incomplete, $"prefix of {prefix} bytes is {partialStatus}", data);
            }
        }
    }

    private static void Check(bool condition, string what, byte[] data)
    {
        if (!condition)
        {
            Assert.Fail($"{what}: \"{Http1HeadParserRequestTests.Escape(Encoding.Latin1.GetString(data))}\"");
        }
    }
}
