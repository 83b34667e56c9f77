using LoadBalancer.Core.Http2.Hpack;
using LoadBalancer.Core.Proxy;

namespace LoadBalancer.Core.Http2.Upstream;

/// <summary>
/// Turns an HTTP/2 backend's decoded response fields into an HTTP/1.1 head (and its trailers into trailer lines), which
/// the HTTP/1 parser then reads like any backend's: the response takes the one response path (route response_headers,
/// the head writers of both client codecs, access log) with no second copy. What RFC 9113 section 8 calls malformed
/// is refused before a byte goes to the client: a missing, repeated, late or unknown pseudo-header, a bad status,
/// uppercase or invalid names, NUL/CR/LF or edge whitespace in values (which would otherwise split the HTTP/1 head),
/// connection-specific fields. A body of unknown length is marked chunked, the HTTP/1 form of "ends with the stream".
/// </summary>
internal static class Http2ResponseTranslator
{
    /// <summary>The bytes a translation can need: the fields, a line's punctuation each, the status line and framing.</summary>
    public static int MaxLength(int decodedBytes, int fieldCount) => decodedBytes + (4 * fieldCount) + 96;

    /// <summary>
    /// Writes the head; returns its length, or -1 with <paramref name="reason"/> for a malformed response.
    /// <paramref name="endStream"/>: the HEADERS ended the stream (no body). <paramref name="emptyBodyLength"/>: such a
    /// response gets "content-length: 0" (an HTTP/1 client could not otherwise tell where it ends).
    /// </summary>
    public static int TranslateHead(ReadOnlySpan<byte> block, ReadOnlySpan<HpackField> fields, bool endStream, bool emptyBodyLength, Span<byte> destination, out int status, out bool hasContentLength, out string reason)
    {
        status = 0;
        hasContentLength = false;
        reason = "";
        var statusIndex = -1;
        var contentLength = -1;
        for (var i = 0; i < fields.Length; i++)
        {
            if (!Http2RequestTranslator.TryReadField(block, fields[i], strictValue: true, out var name, out var value))
            {
                reason = "invalid_field_value";
                return -1;
            }

            if (Http2RequestTranslator.IsPseudoHeader(name))
            {
                if (!name.SequenceEqual(":status"u8) || statusIndex >= 0 || i != 0)
                {
                    reason = statusIndex >= 0 ? "repeated_pseudo_header" : i != 0 ? "pseudo_header_after_field" : "unknown_pseudo_header";
                    return -1;
                }

                if (value.Length != 3 || !char.IsAsciiDigit((char)value[0]) || !char.IsAsciiDigit((char)value[1]) || !char.IsAsciiDigit((char)value[2]) || value[0] is < (byte)'1' or > (byte)'5')
                {
                    reason = "invalid_status";
                    return -1;
                }

                status = ((value[0] - '0') * 100) + ((value[1] - '0') * 10) + (value[2] - '0');
                statusIndex = i;
                continue;
            }

            if (!Http2RequestTranslator.ValidName(name))
            {
                reason = "invalid_field_name";
                return -1;
            }

            if (Http2RequestTranslator.IsConnectionSpecific(name))
            {
                reason = "connection_specific_field";
                return -1;
            }

            if (name.SequenceEqual("content-length"u8))
            {
                // Section 8.1.1: one decimal length (repeats must agree), as the HTTP/1 parser reading the head next requires.
                if (value.IsEmpty || value.IndexOfAnyExceptInRange((byte)'0', (byte)'9') >= 0 || value.Length > 18
                    || (contentLength >= 0 && !value.SequenceEqual(fields[contentLength].Value(block))))
                {
                    reason = "invalid_content_length";
                    return -1;
                }

                contentLength = i;
                hasContentLength = true;
            }
        }

        if (statusIndex < 0)
        {
            reason = "missing_status";
            return -1;
        }

        var writer = new SpanWriter(destination);
        writer.Write("HTTP/1.1 "u8);
        writer.Write(fields[statusIndex].Value(block));
        writer.Write(" \r\n"u8);
        WriteFields(ref writer, block, fields);
        if (status >= 200 && !hasContentLength)
        {
            if (!endStream)
            {
                writer.Write("transfer-encoding: chunked\r\n"u8);
            }
            else if (emptyBodyLength && status is not (204 or 304))
            {
                writer.Write("content-length: 0\r\n"u8);
            }
        }

        writer.Write("\r\n"u8);
        return writer.Written;
    }

    /// <summary>A trailer section as "name: value" CRLF lines (no final CRLF); -1 for a malformed one (pseudo-headers included).</summary>
    public static int TranslateTrailers(ReadOnlySpan<byte> block, ReadOnlySpan<HpackField> fields, Span<byte> destination, out string reason)
    {
        reason = "";
        foreach (var field in fields)
        {
            var name = field.Name(block);
            if (!Http2RequestTranslator.ValidName(name) || !Http2RequestTranslator.ValidStrictValue(field.Value(block)))
            {
                reason = Http2RequestTranslator.IsPseudoHeader(name) ? "pseudo_header_in_trailers" : "invalid_trailer_field";
                return -1;
            }
        }

        var writer = new SpanWriter(destination);
        WriteFields(ref writer, block, fields);
        return writer.Written;
    }

    private static void WriteFields(ref SpanWriter writer, ReadOnlySpan<byte> block, ReadOnlySpan<HpackField> fields)
    {
        foreach (var field in fields)
        {
            var name = field.Name(block);
            if (name.Length > 0 && name[0] == (byte)':')
            {
                continue;
            }

            writer.Write(name);
            writer.Write(": "u8);
            writer.Write(field.Value(block));
            writer.Write("\r\n"u8);
        }
    }
}
