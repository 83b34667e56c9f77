using System.Text;
using LoadBalancer.Core.Http;

namespace LoadBalancer.Core.Http1;

public static partial class Http1HeadParser
{
    /// <summary>What the field lines said about framing and connection management, judged once all are read.</summary>
    private struct FieldSummary
    {
        public int HostCount;
        public int HostStart;
        public int HostLength;
        public long ContentLength;
        public bool TransferEncoding;
        public int ChunkedCount;
        public bool ChunkedLast;
        public bool OtherCoding;
        public bool Close;
        public bool KeepAlive;
        public bool ConnectionUpgrade;
        public bool UpgradeHeader;
        public bool ExpectContinue;
    }

    /// <summary>
    /// Validates every field line from <paramref name="pos"/> to the empty line that ends <paramref name="h"/>
    /// (RFC 9112 section 5): field-name ":" OWS field-value OWS CRLF. On failure the error is already in head.
    /// </summary>
    private static bool ParseFields(ReadOnlySpan<byte> h, int pos, HttpLimits limits, Span<HeaderLine> headers, ref HttpMessageHead head, ref FieldSummary fields)
    {
        int maxCount = Math.Min(limits.MaxHeaders, headers.Length);
        int count = 0;
        while (true)
        {
            byte first = h[pos];
            if (first == (byte)'\r')
            {
                // The head was cut at the first CRLFCRLF, so an empty line can only be the last one.
                if (pos + 2 != h.Length || h[pos + 1] != (byte)'\n')
                {
                    Fail(ref head, 400, HeadErrors.BareCr);
                    return false;
                }

                head.HeaderCount = count;
                return true;
            }

            if (first == (byte)' ' || first == (byte)'\t')
            {
                // Section 5.2: obs-fold is rejected; section 2.2: so is whitespace before the first field line.
                Fail(ref head, 400, HeadErrors.ObsFold);
                return false;
            }

            int nameLength = h[pos..].IndexOfAnyExcept(HttpChars.Token);
            int colon = pos + nameLength;
            if (nameLength <= 0 || h[colon] != (byte)':')
            {
                // Section 5.1: no whitespace is allowed between the field name and colon (400, never strip it).
                string reason = nameLength > 0 && HttpChars.IsWhitespace(h[colon]) ? HeadErrors.WhitespaceBeforeColon
                    : h[colon] == (byte)'\n' ? HeadErrors.BareLf
                    : HeadErrors.InvalidFieldName;
                Fail(ref head, 400, reason);
                return false;
            }

            int valueStart = colon + 1;
            while (HttpChars.IsWhitespace(h[valueStart]))
            {
                valueStart++;
            }

            // The first CTL in the value must be the CR of CRLF; NUL, DEL, bare CR and bare LF are all 400. Scanning
            // for "not VCHAR/SP" is a plain range compare; HTAB and obs-text are rare and resumed past.
            int lineEnd = valueStart + h[valueStart..].IndexOfAnyExceptInRange((byte)0x20, (byte)0x7E);
            while (h[lineEnd] == (byte)'\t' || h[lineEnd] >= 0x80)
            {
                lineEnd++;
                lineEnd += h[lineEnd..].IndexOfAnyExceptInRange((byte)0x20, (byte)0x7E);
            }

            if (h[lineEnd] != (byte)'\r' || h[lineEnd + 1] != (byte)'\n')
            {
                Fail(ref head, 400, h[lineEnd] == (byte)'\n' ? HeadErrors.BareLf
                    : h[lineEnd] == (byte)'\r' ? HeadErrors.BareCr
                    : HeadErrors.InvalidFieldValue);
                return false;
            }

            int valueEnd = lineEnd;
            while (valueEnd > valueStart && HttpChars.IsWhitespace(h[valueEnd - 1]))
            {
                valueEnd--;
            }

            if (count >= maxCount)
            {
                Fail(ref head, 431, HeadErrors.TooManyHeaders);
                return false;
            }

            HeaderKind kind = ClassifyHeader(h.Slice(pos, nameLength));
            ref HeaderLine line = ref headers[count++];
            line.NameStart = pos;
            line.NameLength = nameLength;
            line.ValueStart = valueStart;
            line.ValueLength = valueEnd - valueStart;
            line.LineStart = pos;
            line.LineLength = lineEnd + 2 - pos;
            line.Kind = kind;

            if (kind != HeaderKind.Other && !ApplyField(kind, h.Slice(valueStart, valueEnd - valueStart), valueStart, ref head, ref fields))
            {
                return false;
            }

            pos = lineEnd + 2;
        }
    }

    private static bool ApplyField(HeaderKind kind, ReadOnlySpan<byte> value, int valueStart, ref HttpMessageHead head, ref FieldSummary fields)
    {
        switch (kind)
        {
            case HeaderKind.Host:
                if (++fields.HostCount == 1)
                {
                    fields.HostStart = valueStart;
                    fields.HostLength = value.Length;
                }

                return true;

            case HeaderKind.ContentLength:
                if (!TryParseContentLength(value, out long length))
                {
                    Fail(ref head, 400, HeadErrors.InvalidContentLength);
                    return false;
                }

                // RFC 9110 section 8.6 / RFC 9112 section 6.3 rule 5: repeated identical values may be collapsed,
                // differing ones are unrecoverable framing errors.
                if (fields.ContentLength >= 0 && fields.ContentLength != length)
                {
                    Fail(ref head, 400, HeadErrors.ConflictingContentLength);
                    return false;
                }

                fields.ContentLength = length;
                return true;

            case HeaderKind.TransferEncoding:
                fields.TransferEncoding = true;
                if (!AddTransferCodings(value, ref fields))
                {
                    Fail(ref head, 400, HeadErrors.InvalidTransferEncoding);
                    return false;
                }

                return true;

            case HeaderKind.Connection:
                if (!AddConnectionOptions(value, ref fields))
                {
                    Fail(ref head, 400, HeadErrors.InvalidConnection);
                    return false;
                }

                return true;

            case HeaderKind.Upgrade:
                fields.UpgradeHeader = true;
                return true;

            case HeaderKind.Expect:
                fields.ExpectContinue |= Ascii.EqualsIgnoreCase(value, "100-continue"u8);
                return true;

            default:
                return true;
        }
    }

    /// <summary>
    /// Content-Length = 1*DIGIT (RFC 9110 section 8.6), or a comma list of values that must all be equal. No sign,
    /// no inner whitespace, no empty element, no overflow of long.
    /// </summary>
    private static bool TryParseContentLength(ReadOnlySpan<byte> value, out long length)
    {
        length = -1;
        while (true)
        {
            int comma = value.IndexOf((byte)',');
            ReadOnlySpan<byte> element = (comma < 0 ? value : value[..comma]).Trim(" \t"u8);
            if (element.IsEmpty || element.IndexOfAnyExceptInRange((byte)'0', (byte)'9') >= 0)
            {
                return false;
            }

            long parsed = 0;
            foreach (byte b in element)
            {
                int digit = b - '0';
                if (parsed > (long.MaxValue - digit) / 10)
                {
                    return false;
                }

                parsed = (parsed * 10) + digit;
            }

            if (length >= 0 && parsed != length)
            {
                return false;
            }

            length = parsed;
            if (comma < 0)
            {
                return true;
            }

            value = value[(comma + 1)..];
        }
    }

    /// <summary>
    /// Transfer-Encoding = #transfer-coding (RFC 9112 section 6.1), combined over all field lines in order. A coding is
    /// a token optionally followed by parameters; "chunked" takes none, so "chunked;x" is malformed.
    /// </summary>
    private static bool AddTransferCodings(ReadOnlySpan<byte> value, ref FieldSummary fields)
    {
        int pos = 0;
        while (NextListElement(value, ref pos, out ReadOnlySpan<byte> element))
        {
            int nameLength = element.IndexOfAnyExcept(HttpChars.Token);
            ReadOnlySpan<byte> name = nameLength < 0 ? element : element[..nameLength];
            if (name.IsEmpty)
            {
                return false;
            }

            bool chunked = Ascii.EqualsIgnoreCase(name, "chunked"u8);
            if (nameLength >= 0)
            {
                // Only parameters may follow the name: OWS ";" ... (RFC 9110 section 10.1.4 transfer-parameter).
                if (chunked || element[nameLength..].TrimStart(" \t"u8) is not [(byte)';', ..])
                {
                    return false;
                }
            }

            if (chunked)
            {
                fields.ChunkedCount++;
            }
            else
            {
                fields.OtherCoding = true;
            }

            fields.ChunkedLast = chunked;
        }

        return true;
    }

    /// <summary>Connection = #connection-option, each a token (RFC 9110 section 7.6.1).</summary>
    private static bool AddConnectionOptions(ReadOnlySpan<byte> value, ref FieldSummary fields)
    {
        int pos = 0;
        while (NextListElement(value, ref pos, out ReadOnlySpan<byte> option))
        {
            if (option.IndexOfAnyExcept(HttpChars.Token) >= 0)
            {
                return false;
            }

            switch (option.Length)
            {
                case 5:
                    fields.Close |= Ascii.EqualsIgnoreCase(option, "close"u8);
                    break;
                case 7:
                    fields.ConnectionUpgrade |= Ascii.EqualsIgnoreCase(option, "upgrade"u8);
                    break;
                case 10:
                    fields.KeepAlive |= Ascii.EqualsIgnoreCase(option, "keep-alive"u8);
                    break;
            }
        }

        return true;
    }

    /// <summary>
    /// Next non-empty element of a #list (RFC 9110 section 5.6.1): OWS around commas is dropped and empty elements
    /// are skipped, as a recipient must.
    /// </summary>
    private static bool NextListElement(ReadOnlySpan<byte> value, ref int pos, out ReadOnlySpan<byte> element)
    {
        while (pos < value.Length && (value[pos] == (byte)',' || HttpChars.IsWhitespace(value[pos])))
        {
            pos++;
        }

        if (pos >= value.Length)
        {
            element = default;
            return false;
        }

        int comma = value[pos..].IndexOf((byte)',');
        int end = comma < 0 ? value.Length : pos + comma;
        element = value[pos..end].TrimEnd(" \t"u8);
        pos = end;
        return true;
    }

    /// <summary>Recognizes the fields lb acts on; names are case-insensitive (RFC 9110 section 5.1).</summary>
    private static HeaderKind ClassifyHeader(ReadOnlySpan<byte> name)
    {
        switch (name.Length)
        {
            case 2:
                if (Ascii.EqualsIgnoreCase(name, "te"u8)) return HeaderKind.TE;
                break;
            case 4:
                if (Ascii.EqualsIgnoreCase(name, "host"u8)) return HeaderKind.Host;
                break;
            case 6:
                if (Ascii.EqualsIgnoreCase(name, "cookie"u8)) return HeaderKind.Cookie;
                if (Ascii.EqualsIgnoreCase(name, "expect"u8)) return HeaderKind.Expect;
                break;
            case 7:
                if (Ascii.EqualsIgnoreCase(name, "upgrade"u8)) return HeaderKind.Upgrade;
                if (Ascii.EqualsIgnoreCase(name, "trailer"u8)) return HeaderKind.Trailer;
                break;
            case 10:
                if (Ascii.EqualsIgnoreCase(name, "connection"u8)) return HeaderKind.Connection;
                if (Ascii.EqualsIgnoreCase(name, "keep-alive"u8)) return HeaderKind.KeepAlive;
                break;
            case 14:
                if (Ascii.EqualsIgnoreCase(name, "content-length"u8)) return HeaderKind.ContentLength;
                break;
            case 15:
                if (Ascii.EqualsIgnoreCase(name, "x-forwarded-for"u8)) return HeaderKind.XForwardedFor;
                break;
            case 16:
                if (Ascii.EqualsIgnoreCase(name, "x-forwarded-host"u8)) return HeaderKind.XForwardedHost;
                if (Ascii.EqualsIgnoreCase(name, "proxy-connection"u8)) return HeaderKind.ProxyConnection;
                break;
            case 17:
                if (Ascii.EqualsIgnoreCase(name, "transfer-encoding"u8)) return HeaderKind.TransferEncoding;
                if (Ascii.EqualsIgnoreCase(name, "x-forwarded-proto"u8)) return HeaderKind.XForwardedProto;
                break;
            case 20:
                if (Ascii.EqualsIgnoreCase(name, "x-client-cert-sha256"u8)) return HeaderKind.XClientCertSha256;
                break;
            case 21:
                if (Ascii.EqualsIgnoreCase(name, "x-client-cert-subject"u8)) return HeaderKind.XClientCertSubject;
                break;
        }

        return HeaderKind.Other;
    }
}
