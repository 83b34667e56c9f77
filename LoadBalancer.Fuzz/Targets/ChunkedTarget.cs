using System.Buffers;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Http1;

namespace LoadBalancer.Fuzz.Targets;

/// <summary>
/// ChunkedDecoder. Properties: consumed is in range and NeedMore consumes everything; Invalid stays Invalid; no
/// allocation; the same outcome for the whole input, for every split into two pieces, one byte at a time and for a
/// multi-segment ReadOnlySequence (so every prefix of a valid body is NeedMore, never Invalid); and a body encoded
/// from the input as payload (chunk sizes, extensions, trailers chosen by the input) decodes to exactly its length.
/// </summary>
internal static class ChunkedTarget
{
    private static readonly byte[] Encoded = new byte[8 * 1024 * 1024];

    public static void Run(ReadOnlySpan<byte> data)
    {
        var (status, consumed) = Whole(data);
        Check.That(consumed >= 0 && consumed <= data.Length, $"consumed {consumed} of {data.Length}");
        Check.That(status != ChunkedStatus.NeedMore || consumed == data.Length, "NeedMore without consuming everything");
        Check.That(status != ChunkedStatus.Invalid || consumed < data.Length, "Invalid at no byte");

        long before = GC.GetAllocatedBytesForCurrentThread();
        var again = Whole(data);
        Check.Allocated(before, 0, "ChunkedDecoder.Advance");
        Check.That(again == (status, consumed), "the same input decoded twice differs");

        if (status == ChunkedStatus.Invalid)
        {
            var decoder = default(ChunkedDecoder);
            decoder.Advance(data, out _);
            Check.That(decoder.Advance("0\r\n\r\n"u8, out _) == ChunkedStatus.Invalid, "an Invalid decoder accepted more bytes");
        }

        foreach (int k in HeadFacts.SplitPoints(data.Length))
        {
            var split = Split(data, k);
            Check.That(split == (status, consumed), $"split at {k} gives {split}, whole input {(status, consumed)}");
        }

        if (data.Length <= 4096)
        {
            var decoder = default(ChunkedDecoder);
            var result = (ChunkedStatus.NeedMore, data.Length);
            for (int i = 0; i < data.Length; i++)
            {
                var s = decoder.Advance(data.Slice(i, 1), out int c);
                if (s != ChunkedStatus.NeedMore)
                {
                    result = (s, i + c);
                    break;
                }
            }

            Check.That(result == (status, consumed), $"one byte at a time gives {result}, whole input {(status, consumed)}");
        }

        var segmented = Segmented(data);
        Check.That(segmented == (status, consumed), $"multi-segment sequence gives {segmented}, whole input {(status, consumed)}");

        if (data.Length <= 128 * 1024)
        {
            RoundTrip(data);
        }
    }

    private static (ChunkedStatus, int) Whole(ReadOnlySpan<byte> data)
    {
        var decoder = default(ChunkedDecoder);
        var status = decoder.Advance(data, out int consumed);
        Check.That(decoder.IsDone == (status == ChunkedStatus.Done), "IsDone disagrees with the status");
        return (status, consumed);
    }

    private static (ChunkedStatus, int) Split(ReadOnlySpan<byte> data, int k)
    {
        var decoder = default(ChunkedDecoder);
        var first = decoder.Advance(data[..k], out int c1);
        if (first != ChunkedStatus.NeedMore)
        {
            return (first, c1);
        }

        Check.That(c1 == k, "NeedMore on the first piece without consuming it");
        var second = decoder.Advance(data[k..], out int c2);
        return (second, k + c2);
    }

    /// <summary>Pieces of 1..17 bytes in an order fixed by the input, as a ReadOnlySequence of linked segments.</summary>
    private static (ChunkedStatus, int) Segmented(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return Whole(data);
        }

        var sequence = Segment.Chain(data, 17);
        var decoder = default(ChunkedDecoder);
        int offset = 0;
        foreach (ReadOnlyMemory<byte> memory in sequence)
        {
            var s = decoder.Advance(memory.Span, out int c);
            if (s != ChunkedStatus.NeedMore)
            {
                return (s, offset + c);
            }

            offset += memory.Length;
        }

        return (ChunkedStatus.NeedMore, offset);
    }

    /// <summary>The encoder half: the input is the payload, and its bytes also pick chunk sizes and spellings.</summary>
    private static void RoundTrip(ReadOnlySpan<byte> payload)
    {
        int w = 0;
        uint seed = 0x9E3779B9u ^ (uint)payload.Length;
        for (int i = 0; i < payload.Length;)
        {
            seed = (seed * 1103515245u) + 12345u + payload[i];
            int size = Math.Min(payload.Length - i, 1 + (int)((seed >> 8) % 300));
            w += WriteSizeLine(Encoded.AsSpan(w), size, seed);
            payload.Slice(i, size).CopyTo(Encoded.AsSpan(w));
            w += size;
            w += Copy("\r\n"u8, w);
            i += size;
        }

        w += WriteSizeLine(Encoded.AsSpan(w), 0, seed >> 3);
        int trailerStart = w;
        if ((seed & 0x100) != 0)
        {
            w += Copy("X-Checksum: 1\r\nX-Empty:\r\n"u8, w);
        }

        w += Copy("\r\n"u8, w);
        int bodyLength = w;
        w += Copy("GET / HTTP/1.1\r\n"u8, w); // the next message on the connection is not part of the body

        var decoder = default(ChunkedDecoder);
        var status = decoder.Advance(Encoded.AsSpan(0, w), out int consumed);
        Check.That(status == ChunkedStatus.Done && consumed == bodyLength,
            $"encoded body of {bodyLength} bytes decodes as {status} after {consumed}: {Check.Show(Encoded.AsSpan(0, Math.Min(w, 200)))}");
        ContentRoundTrip(payload, bodyLength, trailerStart, (int)(seed % 23) + 1);
    }

    /// <summary>
    /// AdvanceContent (de-chunking, for HTTP/1.0 clients and HTTP/2) over the encoded body in pieces of
    /// <paramref name="piece"/> bytes: the content is the payload, and what it consumes while InTrailerSection is
    /// exactly the trailer section (HTTP/2 forwards it as trailers).
    /// </summary>
    private static void ContentRoundTrip(ReadOnlySpan<byte> payload, int bodyLength, int trailerStart, int piece)
    {
        var decoder = default(ChunkedDecoder);
        var status = ChunkedStatus.NeedMore;
        int at = 0, content = 0, trailerBytes = 0;
        bool contentMatches = true, trailersMatch = true;
        while (at < bodyLength && status == ChunkedStatus.NeedMore)
        {
            var end = Math.Min(bodyLength, at + piece);
            var rest = Encoded.AsSpan(at, end - at);
            while (!rest.IsEmpty && status == ChunkedStatus.NeedMore)
            {
                var inTrailers = decoder.InTrailerSection;
                status = decoder.AdvanceContent(rest, out var consumed, out var data);
                if (data > 0)
                {
                    contentMatches &= !inTrailers && content + data <= payload.Length && rest.Slice(consumed - data, data).SequenceEqual(payload.Slice(content, data));
                    content += data;
                }

                if (inTrailers)
                {
                    trailersMatch &= Encoded.AsSpan(trailerStart + trailerBytes, consumed).SequenceEqual(rest[..consumed]);
                    trailerBytes += consumed;
                }

                rest = rest[consumed..];
                at += consumed;
            }
        }

        Check.That(status == ChunkedStatus.Done && at == bodyLength, $"AdvanceContent in pieces of {piece} gives {status} after {at} of {bodyLength}");
        Check.That(contentMatches && content == payload.Length, $"AdvanceContent content differs from the payload ({content} of {payload.Length} bytes)");
        Check.That(trailersMatch && trailerBytes == bodyLength - trailerStart, $"the trailer section taken is {trailerBytes} bytes, not {bodyLength - trailerStart}");
    }

    private static int WriteSizeLine(Span<byte> destination, int size, uint seed)
    {
        int w = 0;
        int zeros = (int)(seed & 3);
        for (int i = 0; i < zeros; i++)
        {
            destination[w++] = (byte)'0';
        }

        string hex = size.ToString((seed & 4) != 0 ? "X" : "x", System.Globalization.CultureInfo.InvariantCulture);
        foreach (char c in hex)
        {
            destination[w++] = (byte)c;
        }

        ReadOnlySpan<byte> extension = ((seed >> 3) & 3) switch
        {
            1 => ";a=b"u8,
            2 => " ;q=\"x \\\" y\";z"u8,
            _ => ""u8,
        };
        extension.CopyTo(destination[w..]);
        w += extension.Length;
        destination[w++] = (byte)'\r';
        destination[w++] = (byte)'\n';
        return w;
    }

    private static int Copy(ReadOnlySpan<byte> bytes, int at)
    {
        bytes.CopyTo(Encoded.AsSpan(at));
        return bytes.Length;
    }
}
