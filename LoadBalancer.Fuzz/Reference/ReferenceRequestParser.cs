using System.Text;

namespace LoadBalancer.Fuzz.Reference;

/// <summary>
/// A deliberately plain, strict request-head parser written from the grammar, not from lb's code: RFC 9112 section 3
/// (request-line, single SPs), section 5 (field-line = field-name ":" OWS field-value OWS, no obs-fold, only CRLF
/// ends a line), RFC 9110 section 5.6.2 (token), 5.5 (field-value: VCHAR, SP, HTAB, obs-text), 8.6 (Content-Length),
/// RFC 9112 section 6.1 and 6.3 (Transfer-Encoding), section 3.2 (Host, target forms), RFC 3986 section 3.2
/// (authority). Where the RFCs leave a choice it follows lb's documented decisions (docs/conformance.md): leading
/// empty lines skipped; HTTP/1.x above 1.1 taken as 1.1 and other versions refused; equal Content-Length values (one
/// list or several lines) are one length, an empty list element is refused; only one final "chunked" is accepted,
/// never with Content-Length, never in HTTP/1.0; exactly one Host in HTTP/1.1, at most one in HTTP/1.0; no empty host,
/// no empty port, no userinfo, no IPvFuture or zone; the absolute-form authority wins over Host; CONNECT takes
/// authority-form with a port, "*" is for OPTIONS only; a request-target is VCHAR except '#'; Connection is a list of
/// tokens; at most 100 fields and 16 KiB of head.
/// </summary>
internal static class ReferenceRequestParser
{
    private const int MaxHeadBytes = 16 * 1024;
    private const int MaxHeaders = 100;
    private const string Tchar = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    private const string RegNameChar = "-._~!$&'()*+,;=0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    public static ReferenceRequest Parse(ReadOnlySpan<byte> input)
    {
        // One char per byte, so the grammar reads as string operations.
        string data = Encoding.Latin1.GetString(input[..Math.Min(input.Length, MaxHeadBytes)]);
        int start = 0;
        while (data.Length - start >= 2 && data[start] == '\r' && data[start + 1] == '\n')
        {
            start += 2;
        }

        int end = data.IndexOf("\r\n\r\n", start, StringComparison.Ordinal);
        if (end < 0)
        {
            return new ReferenceRequest(ReferenceVerdict.NoHead, "no end of head");
        }

        string[] lines = data[start..end].Split("\r\n");
        foreach (string line in lines)
        {
            if (line.Contains('\r') || line.Contains('\n'))
            {
                return ReferenceRequest.Reject("bare CR or LF");
            }
        }

        string[] requestLine = lines[0].Split(' ');
        if (requestLine.Length != 3)
        {
            return ReferenceRequest.Reject("request-line is not three SP-separated parts");
        }

        string method = requestLine[0];
        string target = requestLine[1];
        if (!IsToken(method))
        {
            return ReferenceRequest.Reject("method is not a token");
        }

        if (target.Length == 0 || target.Any(c => c is <= ' ' or >= '\x7f' or '#'))
        {
            return ReferenceRequest.Reject("request-target");
        }

        string version = requestLine[2];
        if (version.Length != 8 || !version.StartsWith("HTTP/", StringComparison.Ordinal) || !char.IsAsciiDigit(version[5]) || version[6] != '.' || !char.IsAsciiDigit(version[7]))
        {
            return ReferenceRequest.Reject("HTTP-version");
        }

        if (version[5] != '1')
        {
            return ReferenceRequest.Reject("major version other than 1 (505)");
        }

        bool http10 = version[7] == '0';

        var fields = new List<(string Name, string Value)>();
        for (int i = 1; i < lines.Length; i++)
        {
            string line = lines[i];
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || !IsToken(line[..colon]))
            {
                return ReferenceRequest.Reject("field-name (or obs-fold, or whitespace before the colon)");
            }

            string value = line[(colon + 1)..].Trim(' ', '\t');
            if (value.Any(c => c < ' ' && c != '\t' || c == '\x7f'))
            {
                return ReferenceRequest.Reject("CTL in field-value");
            }

            fields.Add((line[..colon].ToLowerInvariant(), value));
        }

        if (fields.Count > MaxHeaders)
        {
            return ReferenceRequest.Reject("too many fields (431)");
        }

        long contentLength = -1;
        bool haveTransferEncoding = false;
        var codings = new List<string>();
        var hosts = new List<string>();
        foreach (var (name, value) in fields)
        {
            switch (name)
            {
                case "content-length":
                    foreach (string element in value.Split(','))
                    {
                        string digits = element.Trim(' ', '\t');
                        if (digits.Length == 0 || !digits.All(char.IsAsciiDigit) || !long.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long n))
                        {
                            return ReferenceRequest.Reject("Content-Length value");
                        }

                        if (contentLength >= 0 && contentLength != n)
                        {
                            return ReferenceRequest.Reject("differing Content-Length values");
                        }

                        contentLength = n;
                    }

                    break;
                case "transfer-encoding":
                    haveTransferEncoding = true;
                    foreach (string element in value.Split(','))
                    {
                        string coding = element.Trim(' ', '\t');
                        if (coding.Length > 0)
                        {
                            codings.Add(coding);
                        }
                    }

                    break;
                case "host":
                    hosts.Add(value);
                    break;
                case "connection":
                    foreach (string element in value.Split(','))
                    {
                        string option = element.Trim(' ', '\t');
                        if (option.Length > 0 && !IsToken(option))
                        {
                            return ReferenceRequest.Reject("Connection option is not a token");
                        }
                    }

                    break;
            }
        }

        bool chunked = false;
        if (haveTransferEncoding)
        {
            if (http10 || contentLength >= 0)
            {
                return ReferenceRequest.Reject("Transfer-Encoding in HTTP/1.0 or with Content-Length");
            }

            // Only exactly one coding, "chunked" without parameters, frames a request lb can forward.
            if (codings.Count != 1 || !codings[0].Equals("chunked", StringComparison.OrdinalIgnoreCase))
            {
                return ReferenceRequest.Reject("Transfer-Encoding other than one chunked");
            }

            chunked = true;
        }

        if (hosts.Count > 1 || (hosts.Count == 0 && !http10))
        {
            return ReferenceRequest.Reject("Host count");
        }

        string authority = hosts.Count == 1 ? hosts[0] : "";
        if (hosts.Count == 1 && !IsAuthority(authority, requirePort: false))
        {
            return ReferenceRequest.Reject("Host value");
        }

        if (method == "CONNECT")
        {
            if (!IsAuthority(target, requirePort: true))
            {
                return ReferenceRequest.Reject("CONNECT target is not host:port");
            }
        }
        else if (target == "*")
        {
            if (method != "OPTIONS")
            {
                return ReferenceRequest.Reject("asterisk-form outside OPTIONS");
            }
        }
        else if (target[0] != '/')
        {
            int schemeEnd = target.StartsWith("http://", StringComparison.OrdinalIgnoreCase) ? 7
                : target.StartsWith("https://", StringComparison.OrdinalIgnoreCase) ? 8 : -1;
            if (schemeEnd < 0)
            {
                return ReferenceRequest.Reject("target form");
            }

            string rest = target[schemeEnd..];
            int pathStart = rest.IndexOfAny(['/', '?']);
            string targetAuthority = pathStart < 0 ? rest : rest[..pathStart];
            if (!IsAuthority(targetAuthority, requirePort: false))
            {
                return ReferenceRequest.Reject("absolute-form authority");
            }

            authority = targetAuthority;
        }

        return new ReferenceRequest(ReferenceVerdict.Accept, "ok", chunked ? -1 : contentLength, chunked, authority);
    }

    private static bool IsToken(string s) => s.Length > 0 && s.All(c => Tchar.Contains(c, StringComparison.Ordinal));

    /// <summary>host [":" port] with host = "[" IPv6address "]" / reg-name (IPv4address is a reg-name), port 0..65535.</summary>
    private static bool IsAuthority(string s, bool requirePort)
    {
        string host;
        string? port = null;
        if (s.StartsWith('['))
        {
            int close = s.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || StrictProxyV1.ParseIPv6(Encoding.Latin1.GetBytes(s[1..close])) is null)
            {
                return false;
            }

            host = s[..(close + 1)];
            if (close + 1 < s.Length)
            {
                if (s[close + 1] != ':')
                {
                    return false;
                }

                port = s[(close + 2)..];
            }
        }
        else
        {
            int colon = s.LastIndexOf(':');
            host = colon < 0 ? s : s[..colon];
            port = colon < 0 ? null : s[(colon + 1)..];
            if (host.Length == 0 || !IsRegName(host))
            {
                return false;
            }
        }

        if (port is null)
        {
            return !requirePort;
        }

        return port.Length is >= 1 and <= 5 && port.All(char.IsAsciiDigit) && int.Parse(port, System.Globalization.CultureInfo.InvariantCulture) <= 65535;
    }

    private static bool IsRegName(string host)
    {
        for (int i = 0; i < host.Length; i++)
        {
            if (host[i] == '%')
            {
                if (i + 2 >= host.Length || !Uri.IsHexDigit(host[i + 1]) || !Uri.IsHexDigit(host[i + 2]))
                {
                    return false;
                }

                i += 2;
            }
            else if (!RegNameChar.Contains(host[i], StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }
}
