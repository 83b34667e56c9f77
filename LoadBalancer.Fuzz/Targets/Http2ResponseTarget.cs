using LoadBalancer.Core.Http;
using LoadBalancer.Core.Http1;
using LoadBalancer.Core.Http2.Hpack;
using LoadBalancer.Core.Http2.Upstream;

namespace LoadBalancer.Fuzz.Targets;

/// <summary>
/// Http2ResponseTranslator (issue 16, h2 pools): an HTTP/2 backend's response fields become an HTTP/1 head that lb's
/// own parser reads next, so a field the translator lets through must never split that head. The input's first byte
/// picks END_STREAM, content-length: 0 for empty bodies, and head or trailers; the rest is a header block decoded by
/// HpackDecoder. Properties: an accepted head parses Complete with exactly its length, the status and every regular
/// field unchanged in order (plus at most one framing line lb adds); accepted trailers end a chunked body as its trailer section;
/// a refused block writes nothing; no allocation.
/// </summary>
internal static class Http2ResponseTarget
{
    private static readonly byte[] Decoded = new byte[8192];
    private static readonly HpackField[] Fields = new HpackField[64];
    private static readonly byte[] Head = new byte[Http2ResponseTranslator.MaxLength(8192, 64) + 8];
    private static readonly HeaderLine[] Lines = new HeaderLine[128];
    private static readonly HttpLimits Limits = new() { MaxHeadBytes = Head.Length, MaxHeaders = Lines.Length };

    public static void Run(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }

        var flags = data[0];
        var decoder = new HpackDecoder(4096, Decoded.Length, Fields.Length);
        if (decoder.Decode(data[1..], Decoded, Fields, out var count) != HpackStatus.Ok)
        {
            return;
        }

        var fields = Fields.AsSpan(0, count);
        var before = GC.GetAllocatedBytesForCurrentThread();
        if ((flags & 4) != 0)
        {
            var length = Http2ResponseTranslator.TranslateTrailers(Decoded, fields, Head, out _);
            Check.Allocated(before, 0, "TranslateTrailers");
            if (length >= 0)
            {
                Trailers(length, count);
            }

            return;
        }

        var written = Http2ResponseTranslator.TranslateHead(Decoded, fields, (flags & 1) != 0, (flags & 2) != 0, Head, out var status, out _, out _);
        Check.Allocated(before, 0, "TranslateHead");
        if (written < 0)
        {
            return;
        }

        var head = default(HttpMessageHead);
        var parsed = Http1HeadParser.TryParseResponse(Head.AsSpan(0, written), Limits, ref head, Lines);
        Check.That(parsed == HeadParseStatus.Complete && head.HeadLength == written, $"translated head does not re-parse: {parsed}, {head.HeadLength} of {written}");
        Check.That(head.StatusCode == status && count >= 1 && Fields[0].Name(Decoded).SequenceEqual(":status"u8), $"status {head.StatusCode} vs {status}");
        Check.That(head.HeaderCount == count - 1 || head.HeaderCount == count, $"{head.HeaderCount} lines for {count - 1} fields");
        for (var i = 1; i < count; i++)
        {
            var line = Lines[i - 1];
            Check.That(Head.AsSpan(line.NameStart, line.NameLength).SequenceEqual(Fields[i].Name(Decoded)) && Head.AsSpan(line.ValueStart, line.ValueLength).SequenceEqual(Fields[i].Value(Decoded)), $"field {i} changed");
        }
    }

    /// <summary>
    /// Trailer lines go out in a last chunk (HTTP/1.1 client) or as HEADERS: "0" CRLF, the lines, CRLF must be one whole
    /// chunked body to lb's own chunked decoder (a head's field semantics, such as one Content-Length, do not apply).
    /// </summary>
    private static void Trailers(int length, int count)
    {
        var buffer = new byte[3 + length + 2];
        "0\r\n"u8.CopyTo(buffer);
        Head.AsSpan(0, length).CopyTo(buffer.AsSpan(3));
        "\r\n"u8.CopyTo(buffer.AsSpan(3 + length));
        var decoder = default(ChunkedDecoder);
        var status = decoder.Advance(buffer, out var consumed);
        Check.That(status == ChunkedStatus.Done && consumed == buffer.Length, $"trailers ({count} fields) do not end a chunked body: {status}, {consumed} of {buffer.Length}");
    }
}
