using System.Buffers.Binary;
using LoadBalancer.Core.Http;
using HttpMethod = LoadBalancer.Core.Http.HttpMethod;

namespace LoadBalancer.Core.Http1;

/// <summary>The status line and response head, and the version, method and failure helpers both heads share.</summary>
public static partial class Http1HeadParser
{

    private static HeadParseStatus ParseResponseHead(ReadOnlySpan<byte> h, HttpLimits limits, ref HttpMessageHead head, Span<HeaderLine> headers)
    {
        // status-line = HTTP-version SP status-code SP [ reason-phrase ] CRLF (RFC 9112 section 4); a missing SP
        // before an empty reason is tolerated because common servers send "HTTP/1.1 200\r\n".
        int minor = ParseVersion(h, 0, endsLine: false);
        if (minor == VersionUnsupported)
        {
            return Fail(ref head, 502, HeadErrors.UnsupportedVersion);
        }

        if (minor == VersionMalformed || h.Length < 16 || h[8] != (byte)' '
            || !HttpChars.IsDigit(h[9]) || !HttpChars.IsDigit(h[10]) || !HttpChars.IsDigit(h[11]))
        {
            return Fail(ref head, 502, HeadErrors.InvalidStatusLine);
        }

        int code = ((h[9] - '0') * 100) + ((h[10] - '0') * 10) + (h[11] - '0');
        if (code < 100 || code > 599)
        {
            return Fail(ref head, 502, HeadErrors.InvalidStatusLine);
        }

        int lineEnd;
        if (h[12] == (byte)'\r')
        {
            lineEnd = 12;
        }
        else if (h[12] == (byte)' ')
        {
            lineEnd = 13 + h[13..].IndexOfAny(HttpChars.ValueStop);
        }
        else
        {
            return Fail(ref head, 502, HeadErrors.InvalidStatusLine);
        }

        if (h[lineEnd] != (byte)'\r' || h[lineEnd + 1] != (byte)'\n')
        {
            return Fail(ref head, 502, h[lineEnd] == (byte)'\n' ? HeadErrors.BareLf : HeadErrors.InvalidStatusLine);
        }

        head.MinorVersion = minor;
        head.StatusCode = code;

        var fields = new FieldSummary { ContentLength = -1 };
        if (!ParseFields(h, lineEnd + 2, limits, headers, ref head, ref fields))
        {
            return HeadParseStatus.Invalid;
        }

        bool closeDelimited = false;
        if (fields.TransferEncoding)
        {
            if (minor == 0)
            {
                return Fail(ref head, 502, HeadErrors.TransferEncodingInHttp10);
            }

            if (fields.ContentLength >= 0)
            {
                return Fail(ref head, 502, HeadErrors.ContentLengthWithTransferEncoding);
            }

            if (fields.ChunkedCount > 1)
            {
                return Fail(ref head, 502, HeadErrors.ChunkedTwice);
            }

            if (fields.ChunkedCount == 0 && !fields.OtherCoding)
            {
                return Fail(ref head, 502, HeadErrors.InvalidTransferEncoding);
            }

            // RFC 9112 section 6.3 rule 4: a response whose final coding is not chunked runs until the connection closes.
            head.Chunked = fields.ChunkedLast;
            closeDelimited = !fields.ChunkedLast;
        }
        else
        {
            head.ContentLength = fields.ContentLength;
        }

        head.ConnectionClose = closeDelimited || fields.Close || (minor == 0 && !fields.KeepAlive);
        head.Upgrade = minor == 1 && fields.ConnectionUpgrade && fields.UpgradeHeader;
        head.HeadLength = h.Length;
        return HeadParseStatus.Complete;
    }

    private const int VersionMalformed = -1;
    private const int VersionUnsupported = -2;

    /// <summary>
    /// Minor version for exactly "HTTP/1.0" or "HTTP/1.1" (followed by CRLF when <paramref name="endsLine"/>);
    /// VersionUnsupported for another well-formed HTTP/d.d (505, RFC 9110 section 15.6.6); else VersionMalformed.
    /// </summary>
    private static int ParseVersion(ReadOnlySpan<byte> h, int pos, bool endsLine)
    {
        // A request head always ends in CRLFCRLF, so a version plus its CRLF needs 10 bytes before that end.
        if (h.Length - pos < 10)
        {
            return VersionMalformed;
        }

        ulong version = BinaryPrimitives.ReadUInt64LittleEndian(h.Slice(pos, 8));
        int minor;
        if (version == Http11)
        {
            minor = 1;
        }
        else if (version == Http10)
        {
            minor = 0;
        }
        else if (h.Slice(pos, 5).SequenceEqual("HTTP/"u8) && HttpChars.IsDigit(h[pos + 5]) && h[pos + 6] == (byte)'.'
                 && HttpChars.IsDigit(h[pos + 7]))
        {
            minor = VersionUnsupported;
        }
        else
        {
            return VersionMalformed;
        }

        // For a status line the caller checks the SP; for a request line the version must end the line.
        if (endsLine && (h[pos + 8] != (byte)'\r' || h[pos + 9] != (byte)'\n'))
        {
            return VersionMalformed;
        }

        return minor;
    }

    private static HttpMethod ClassifyMethod(ReadOnlySpan<byte> m)
    {
        // Methods are case-sensitive (RFC 9110 section 9.1).
        switch (m.Length)
        {
            case 3:
                if (m.SequenceEqual("GET"u8)) return HttpMethod.Get;
                if (m.SequenceEqual("PUT"u8)) return HttpMethod.Put;
                break;
            case 4:
                if (m.SequenceEqual("POST"u8)) return HttpMethod.Post;
                if (m.SequenceEqual("HEAD"u8)) return HttpMethod.Head;
                break;
            case 5:
                if (m.SequenceEqual("PATCH"u8)) return HttpMethod.Patch;
                if (m.SequenceEqual("TRACE"u8)) return HttpMethod.Trace;
                break;
            case 6:
                if (m.SequenceEqual("DELETE"u8)) return HttpMethod.Delete;
                break;
            case 7:
                if (m.SequenceEqual("OPTIONS"u8)) return HttpMethod.Options;
                if (m.SequenceEqual("CONNECT"u8)) return HttpMethod.Connect;
                break;
        }

        return HttpMethod.Other;
    }

    private static HeadParseStatus Fail(ref HttpMessageHead head, int status, string reason)
    {
        head.ErrorStatus = status;
        head.ErrorReason = reason;
        return HeadParseStatus.Invalid;
    }
}
