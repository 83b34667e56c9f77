using LoadBalancer.Core.Http;
using LoadBalancer.Core.Http2.Hpack;
using LoadBalancer.Core.Proxy;

namespace LoadBalancer.Core.Http2;

/// <summary>
/// Turns a stream's decoded request fields into an HTTP/1.1 head, which the HTTP/1 parser then reads like any client's:
/// the stream thereby takes the one request path (tenant lookup, admission, edits, the head writer's forwarding
/// rules) with no second copy. Everything RFC 9113 section 8 calls malformed is refused here, before any byte moves:
/// uppercase or invalid names, NUL/CR/LF or edge whitespace in values, unknown, repeated, missing or late
/// pseudo-headers, connection-specific fields, a TE other than "trailers", a Host that disagrees with :authority.
/// Cookie fields are joined into one (section 8.2.3). A body of unknown length is sent chunked.
/// </summary>
internal static class Http2RequestTranslator
{
    /// <summary>Returns the head's length (<paramref name="destination"/> sized by <see cref="MaxLength"/>), or -1 with <paramref name="reason"/> for a malformed request (a stream error).</summary>
    public static int Translate(ReadOnlySpan<byte> block, ReadOnlySpan<HpackField> fields, bool hasBody, Span<byte> destination, out bool isConnect, out string reason)
    {
        isConnect = false;
        reason = "";
        HpackField method = default, scheme = default, authority = default, path = default;
        var seen = 0;
        var regular = false;
        var hasContentLength = false;
        var hostIndex = -1;
        for (var i = 0; i < fields.Length; i++)
        {
            if (!TryReadField(block, fields[i], strictValue: false, out var name, out var value))
            {
                reason = "invalid_field_value";
                return -1;
            }

            if (IsPseudoHeader(name))
            {
                var bit = name.SequenceEqual(":method"u8) ? 1 : name.SequenceEqual(":scheme"u8) ? 2 : name.SequenceEqual(":authority"u8) ? 4 : name.SequenceEqual(":path"u8) ? 8 : 0;
                if (bit == 0 || regular || (seen & bit) != 0)
                {
                    reason = bit == 0 ? "unknown_pseudo_header" : regular ? "pseudo_header_after_field" : "repeated_pseudo_header";
                    return -1;
                }

                seen |= bit;
                switch (bit)
                {
                    case 1: method = fields[i]; break;
                    case 2: scheme = fields[i]; break;
                    case 4: authority = fields[i]; break;
                    default: path = fields[i]; break;
                }

                continue;
            }

            regular = true;
            if (!ValidName(name))
            {
                reason = "invalid_field_name";
                return -1;
            }

            if (IsConnectionSpecific(name))
            {
                reason = "connection_specific_field";
                return -1;
            }

            if (name.SequenceEqual("te"u8) && !value.SequenceEqual("trailers"u8))
            {
                reason = "te_not_trailers";
                return -1;
            }

            hasContentLength |= name.SequenceEqual("content-length"u8);
            if (name.SequenceEqual("host"u8))
            {
                hostIndex = i;
            }
        }

        if ((seen & 1) != 0 && method.Value(block).SequenceEqual("CONNECT"u8))
        {
            // lb refuses CONNECT (405), as on HTTP/1: the caller answers it.
            isConnect = true;
            return 0;
        }

        if ((seen & (1 | 2 | 8)) != (1 | 2 | 8) || path.ValueLength == 0)
        {
            reason = "missing_pseudo_header";
            return -1;
        }

        var host = authority.ValueLength > 0 ? authority.Value(block) : hostIndex >= 0 ? fields[hostIndex].Value(block) : default;
        if (authority.ValueLength > 0 && hostIndex >= 0 && !System.Text.Ascii.EqualsIgnoreCase(fields[hostIndex].Value(block), host))
        {
            reason = "host_differs_from_authority";
            return -1;
        }

        var writer = new SpanWriter(destination);
        writer.Write(method.Value(block));
        writer.Write((byte)' ');
        writer.Write(path.Value(block));
        writer.Write(" HTTP/1.1\r\nhost: "u8);
        writer.Write(host);
        writer.Write("\r\n"u8);
        var cookies = 0;
        for (var i = 0; i < fields.Length; i++)
        {
            var name = fields[i].Name(block);
            if (name[0] == (byte)':' || i == hostIndex)
            {
                continue;
            }

            if (name.SequenceEqual("cookie"u8))
            {
                cookies++;
                continue;
            }

            writer.Write(name);
            writer.Write(": "u8);
            writer.Write(fields[i].Value(block));
            writer.Write("\r\n"u8);
        }

        if (cookies > 0)
        {
            writer.Write("cookie: "u8);
            var first = true;
            for (var i = 0; i < fields.Length; i++)
            {
                if (fields[i].Name(block).SequenceEqual("cookie"u8))
                {
                    if (!first)
                    {
                        writer.Write("; "u8);
                    }

                    writer.Write(fields[i].Value(block));
                    first = false;
                }
            }

            writer.Write("\r\n"u8);
        }

        if (hasBody && !hasContentLength)
        {
            writer.Write("transfer-encoding: chunked\r\n"u8);
        }

        writer.Write("\r\n"u8);
        return writer.Written;
    }

    /// <summary>The bytes a translation can need: the fields, a line's punctuation each, the request line and framing.</summary>
    public static int MaxLength(int decodedBytes, int fieldCount) => decodedBytes + (4 * fieldCount) + 96;

    internal static bool IsConnectionSpecific(ReadOnlySpan<byte> name)
        => name.SequenceEqual("connection"u8) || name.SequenceEqual("keep-alive"u8) || name.SequenceEqual("proxy-connection"u8)
            || name.SequenceEqual("transfer-encoding"u8) || name.SequenceEqual("upgrade"u8);

    /// <summary>A token of lowercase characters (RFC 9110 section 5.6.2; RFC 9113 section 8.2.1 forbids uppercase).</summary>
    internal static bool ValidName(ReadOnlySpan<byte> name)
    {
        if (name.IsEmpty)
        {
            return false;
        }

        foreach (var b in name)
        {
            var ok = b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'0' and <= (byte)'9')
                || b is (byte)'!' or (byte)'#' or (byte)'$' or (byte)'%' or (byte)'&' or (byte)'\'' or (byte)'*' or (byte)'+'
                    or (byte)'-' or (byte)'.' or (byte)'^' or (byte)'_' or (byte)'`' or (byte)'|' or (byte)'~';
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// A decoded field's name and value, and whether the value is well formed (<see cref="ValidValue"/>; with
    /// <paramref name="strictValue"/> also no control byte but HTAB, see <see cref="ValidStrictValue"/>).
    /// </summary>
    internal static bool TryReadField(ReadOnlySpan<byte> block, in HpackField field, bool strictValue, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        name = field.Name(block);
        value = field.Value(block);
        return strictValue ? ValidStrictValue(value) : ValidValue(value);
    }

    internal static bool IsPseudoHeader(ReadOnlySpan<byte> name) => name.Length > 0 && name[0] == (byte)':';

    /// <summary>
    /// RFC 9113's rule and also no other control byte but HTAB: for a response, whose head the HTTP/1 parser reads
    /// next and refuses those in (RFC 9110 section 5.5), so they are refused here (found by fuzzing).
    /// </summary>
    internal static bool ValidStrictValue(ReadOnlySpan<byte> value)
    {
        foreach (var b in value)
        {
            if ((b < 0x20 && b != (byte)'\t') || b == 0x7F)
            {
                return false;
            }
        }

        return ValidValue(value);
    }

    /// <summary>No NUL, CR or LF, and no leading or trailing space or tab (RFC 9113 section 8.2.1).</summary>
    internal static bool ValidValue(ReadOnlySpan<byte> value)
    {
        if (value.IndexOfAny((byte)0, (byte)'\r', (byte)'\n') >= 0)
        {
            return false;
        }

        return value.IsEmpty || (value[0] is not ((byte)' ' or (byte)'\t') && value[^1] is not ((byte)' ' or (byte)'\t'));
    }
}
