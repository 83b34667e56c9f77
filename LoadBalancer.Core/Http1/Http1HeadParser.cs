using System.Buffers.Binary;
using LoadBalancer.Core.Http;
using HttpMethod = LoadBalancer.Core.Http.HttpMethod;

namespace LoadBalancer.Core.Http1;

/// <summary>
/// Strict RFC 9112 head parser over one contiguous buffer. Allocation-free. It rejects rather than repairs anything that
/// two HTTP implementations could frame differently (request smuggling): bare CR/LF, obs-fold, whitespace before the
/// colon, ambiguous Content-Length, and any Transfer-Encoding other than a single final "chunked".
/// </summary>
/// <remarks>
/// Works in two steps: a vectorized search for the CRLFCRLF that ends the head (bounded by
/// <see cref="HttpLimits.MaxHeadBytes"/>), then one validating pass over the head. Decisions worth knowing:
/// the HTTP/2 preface (<c>PRI * HTTP/2.0</c>) is a well-formed request line with an unsupported version, so it gets 505
/// (as does any major version other than 1), while a request's HTTP/1.2 and up is taken as HTTP/1.1;
/// an empty Host, an empty port ("host:") and a '#' in the target are 400; response errors are always reported as 502.
/// </remarks>
public static partial class Http1HeadParser
{
    private const ulong Http11 = 0x312E312F50545448; // "HTTP/1.1" little-endian
    private const ulong Http10 = 0x302E312F50545448; // "HTTP/1.0" little-endian

    /// <summary>
    /// Parses a request head from the start of <paramref name="data"/>. Returns Incomplete until the empty line that
    /// ends the head is present (or Invalid with 431/414 once the limits are exceeded without one).
    /// </summary>
    public static HeadParseStatus TryParseRequest(ReadOnlySpan<byte> data, HttpLimits limits, ref HttpMessageHead head, Span<HeaderLine> headers)
    {
        head = default;
        head.ContentLength = -1;

        // RFC 9112 section 2.2: a server SHOULD ignore at least one empty line received before the request-line.
        // They count towards HeadLength so the caller skips them together with the head.
        int start = 0;
        while ((uint)(start + 1) < (uint)data.Length && data[start] == (byte)'\r' && data[start + 1] == (byte)'\n')
        {
            start += 2;
        }

        int headLength = FindHeadEnd(data, start, limits.MaxHeadBytes);
        if (headLength < 0)
        {
            return NoHeadEnd(data, start, limits.MaxHeadBytes, isRequest: true, ref head);
        }

        HeadParseStatus status = ParseRequestHead(data[..headLength], start, limits, ref head, headers);
        if (status == HeadParseStatus.Invalid && head.ErrorStatus != 400 && BareLineEnd(data[start..headLength]) is { } reason)
        {
            // A client that sends the head in pieces gets 400 for the bare CR/LF (NoHeadEnd) before the whole head
            // exists; judging a complete head must not answer 505 or 431 instead (found by fuzzing, issue 19).
            return Fail(ref head, 400, reason);
        }

        return status;
    }

    /// <summary>The reason for the first CR not followed by LF or LF not preceded by CR, or null (error path only).</summary>
    private static string? BareLineEnd(ReadOnlySpan<byte> h)
    {
        for (int i = h.IndexOfAny((byte)'\r', (byte)'\n'); i >= 0; i = NextLineEnd(h, i))
        {
            if (h[i] == (byte)'\n')
            {
                return HeadErrors.BareLf;
            }

            if (i + 1 == h.Length || h[i + 1] != (byte)'\n')
            {
                return HeadErrors.BareCr;
            }

            i++;
        }

        return null;

        static int NextLineEnd(ReadOnlySpan<byte> h, int i)
        {
            int k = h[(i + 1)..].IndexOfAny((byte)'\r', (byte)'\n');
            return k < 0 ? -1 : i + 1 + k;
        }
    }

    /// <summary>
    /// Parses a response head from the start of <paramref name="data"/> (Invalid means: answer the client 502).
    /// Body framing is reported as found; the caller applies RFC 9112 section 6.3 rules that need the request
    /// (HEAD, 1xx/204/304) and reads until close when neither <see cref="HttpMessageHead.Chunked"/> nor a
    /// Content-Length is set. A Transfer-Encoding whose final coding is not chunked means close-delimited
    /// (RFC 9112 section 6.3 rule 4): Chunked=false, ContentLength=-1, ConnectionClose=true.
    /// </summary>
    public static HeadParseStatus TryParseResponse(ReadOnlySpan<byte> data, HttpLimits limits, ref HttpMessageHead head, Span<HeaderLine> headers)
    {
        head = default;
        head.ContentLength = -1;

        int headLength = FindHeadEnd(data, 0, limits.MaxHeadBytes);
        HeadParseStatus status = headLength < 0
            ? NoHeadEnd(data, 0, limits.MaxHeadBytes, isRequest: false, ref head)
            : ParseResponseHead(data[..headLength], limits, ref head, headers);
        if (status == HeadParseStatus.Invalid)
        {
            // Whatever the backend got wrong, the client sees 502 Bad Gateway.
            head.ErrorStatus = 502;
        }

        return status;
    }

    /// <summary>HeadLength if the head's CRLFCRLF lies within the first maxHeadBytes bytes, else -1.</summary>
    private static int FindHeadEnd(ReadOnlySpan<byte> data, int start, int maxHeadBytes)
    {
        int window = Math.Min(data.Length, maxHeadBytes);
        if (start >= window)
        {
            return -1;
        }

        int end = data[start..window].IndexOf("\r\n\r\n"u8);
        return end < 0 ? -1 : start + end + 4;
    }

    /// <summary>
    /// No end of head yet. Bare CR/LF are rejected now: a peer that frames lines with bare LF would otherwise wait for
    /// an answer while we wait for a CRLFCRLF that never comes. Over the limit: 414 when even the first line has no
    /// CRLF, else 431.
    /// </summary>
    private static HeadParseStatus NoHeadEnd(ReadOnlySpan<byte> data, int start, int maxHeadBytes, bool isRequest, ref HttpMessageHead head)
    {
        int window = Math.Min(data.Length, maxHeadBytes);
        ReadOnlySpan<byte> scan = start < window ? data[start..window] : default;
        int i = 0;
        while (true)
        {
            int k = scan[i..].IndexOfAny((byte)'\r', (byte)'\n');
            if (k < 0)
            {
                break;
            }

            i += k;
            if (scan[i] == (byte)'\n')
            {
                return Fail(ref head, 400, HeadErrors.BareLf);
            }

            if (i + 1 == scan.Length)
            {
                break;
            }

            if (scan[i + 1] != (byte)'\n')
            {
                return Fail(ref head, 400, HeadErrors.BareCr);
            }

            i += 2;
        }

        if (data.Length < maxHeadBytes)
        {
            return HeadParseStatus.Incomplete;
        }

        bool firstLineEnded = scan.IsEmpty || scan.IndexOf("\r\n"u8) >= 0;
        return isRequest && !firstLineEnded
            ? Fail(ref head, 414, HeadErrors.RequestLineTooLong)
            : Fail(ref head, 431, HeadErrors.HeadTooLarge);
    }

    private static HeadParseStatus ParseRequestHead(ReadOnlySpan<byte> h, int start, HttpLimits limits, ref HttpMessageHead head, Span<HeaderLine> headers)
    {
        // request-line = method SP request-target SP HTTP-version CRLF (RFC 9112 section 3), single SPs only.
        int methodLength = h[start..].IndexOfAnyExcept(HttpChars.Token);
        if (methodLength <= 0 || h[start + methodLength] != (byte)' ')
        {
            return Fail(ref head, 400, HeadErrors.InvalidMethod);
        }

        head.MethodStart = start;
        head.MethodLength = methodLength;
        head.Method = ClassifyMethod(h.Slice(start, methodLength));

        int targetStart = start + methodLength + 1;
        int targetLength = h[targetStart..].IndexOfAnyExcept(HttpChars.Target);
        if (targetLength <= 0 || h[targetStart + targetLength] != (byte)' ')
        {
            return Fail(ref head, 400, HeadErrors.InvalidTarget);
        }

        head.TargetStart = targetStart;
        head.TargetLength = targetLength;

        int versionStart = targetStart + targetLength + 1;
        int minor = ParseVersion(h, versionStart, endsLine: true);
        if (minor == VersionMalformed)
        {
            int lf = h[versionStart..].IndexOf((byte)'\n');
            bool bareLf = lf == 0 || (lf > 0 && h[versionStart + lf - 1] != (byte)'\r');
            return Fail(ref head, 400, bareLf ? HeadErrors.BareLf : HeadErrors.InvalidVersion);
        }

        if (minor == VersionUnsupported && h[versionStart + 5] == (byte)'1')
        {
            // RFC 9110 section 2.5: a higher minor version of a major version lb implements (HTTP/1.2) is processed as
            // the highest minor it conforms to; 505 is for major versions (section 15.6.6). lb forwards HTTP/1.1.
            minor = 1;
        }

        if (minor == VersionUnsupported)
        {
            return Fail(ref head, 505, HeadErrors.UnsupportedVersion);
        }

        head.MinorVersion = minor;

        var fields = new FieldSummary { ContentLength = -1 };
        if (!ParseFields(h, versionStart + 10, limits, headers, ref head, ref fields))
        {
            return HeadParseStatus.Invalid;
        }

        if (fields.TransferEncoding)
        {
            // RFC 9112 section 6.1: TE in HTTP/1.0 means faulty framing; TE with CL is smuggling-shaped (section 6.3
            // rule 3 lets us reject); only a single final chunked is something lb can frame without decoding.
            if (minor == 0)
            {
                return Fail(ref head, 400, HeadErrors.TransferEncodingInHttp10);
            }

            if (fields.ContentLength >= 0)
            {
                return Fail(ref head, 400, HeadErrors.ContentLengthWithTransferEncoding);
            }

            if (fields.ChunkedCount > 1)
            {
                return Fail(ref head, 400, HeadErrors.ChunkedTwice);
            }

            if (fields.ChunkedCount == 1 && !fields.ChunkedLast)
            {
                return Fail(ref head, 400, HeadErrors.ChunkedNotFinal);
            }

            if (fields.OtherCoding)
            {
                return Fail(ref head, 501, HeadErrors.UnsupportedTransferCoding);
            }

            if (fields.ChunkedCount == 0)
            {
                return Fail(ref head, 400, HeadErrors.InvalidTransferEncoding);
            }

            head.Chunked = true;
        }
        else
        {
            head.ContentLength = fields.ContentLength;
        }

        // RFC 9112 section 3.2: 400 for an HTTP/1.1 request without Host, for more than one Host, or an invalid one.
        if (fields.HostCount > 1)
        {
            return Fail(ref head, 400, HeadErrors.DuplicateHost);
        }

        if (fields.HostCount == 0 && minor == 1)
        {
            return Fail(ref head, 400, HeadErrors.MissingHost);
        }

        if (fields.HostCount == 1)
        {
            ReadOnlySpan<byte> host = h.Slice(fields.HostStart, fields.HostLength);
            if (!HttpAuthority.IsValid(host, requirePort: false))
            {
                return Fail(ref head, 400, host.Contains((byte)'@') ? HeadErrors.UserInfo : HeadErrors.InvalidHost);
            }

            head.AuthorityStart = fields.HostStart;
            head.AuthorityLength = fields.HostLength;
        }

        if (!CheckTargetForm(h, ref head))
        {
            return HeadParseStatus.Invalid;
        }

        head.ConnectionClose = fields.Close || (minor == 0 && !fields.KeepAlive);

        // RFC 9110 section 7.8: Upgrade in an HTTP/1.0 request is ignored; section 10.1.1: so is 100-continue.
        head.Upgrade = minor == 1 && fields.ConnectionUpgrade && fields.UpgradeHeader;
        head.ExpectContinue = minor == 1 && fields.ExpectContinue;
        head.HeadLength = h.Length;
        return HeadParseStatus.Complete;
    }

    /// <summary>RFC 9112 section 3.2: origin-form, absolute-form, authority-form (CONNECT only), asterisk-form (OPTIONS only).</summary>
    private static bool CheckTargetForm(ReadOnlySpan<byte> h, ref HttpMessageHead head)
    {
        ReadOnlySpan<byte> target = h.Slice(head.TargetStart, head.TargetLength);
        if (head.Method == HttpMethod.Connect)
        {
            // Section 3.2.3: CONNECT takes exactly uri-host ":" port. Routing still uses Host, like any request.
            if (!HttpAuthority.IsValid(target, requirePort: true))
            {
                Fail(ref head, 400, target.Contains((byte)'@') ? HeadErrors.UserInfo : HeadErrors.InvalidAuthorityForm);
                return false;
            }

            return true;
        }

        if (target[0] == (byte)'/')
        {
            return true;
        }

        if (target.Length == 1 && target[0] == (byte)'*')
        {
            if (head.Method != HttpMethod.Options)
            {
                Fail(ref head, 400, HeadErrors.AsteriskFormNotOptions);
                return false;
            }

            return true;
        }

        // Section 3.2.2: absolute-form; only http and https have an authority lb can route on.
        int authorityStart;
        if (target.Length >= 7 && System.Text.Ascii.EqualsIgnoreCase(target[..7], "http://"u8))
        {
            authorityStart = 7;
        }
        else if (target.Length >= 8 && System.Text.Ascii.EqualsIgnoreCase(target[..8], "https://"u8))
        {
            authorityStart = 8;
        }
        else
        {
            Fail(ref head, 400, HeadErrors.InvalidTarget);
            return false;
        }

        ReadOnlySpan<byte> rest = target[authorityStart..];
        int authorityLength = rest.IndexOfAny((byte)'/', (byte)'?');
        if (authorityLength < 0)
        {
            authorityLength = rest.Length;
        }

        ReadOnlySpan<byte> authority = rest[..authorityLength];
        if (!HttpAuthority.IsValid(authority, requirePort: false))
        {
            // RFC 9110 section 4.2.4: userinfo in an http(s) URI is deprecated and a classic phishing/routing trick.
            Fail(ref head, 400, authority.Contains((byte)'@') ? HeadErrors.UserInfo : HeadErrors.InvalidAbsoluteForm);
            return false;
        }

        // Section 3.2.2: the target's authority wins over Host.
        head.AbsoluteForm = true;
        head.AuthorityStart = head.TargetStart + authorityStart;
        head.AuthorityLength = authorityLength;
        return true;
    }
}
