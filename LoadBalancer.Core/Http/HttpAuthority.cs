namespace LoadBalancer.Core.Http;

/// <summary>
/// Validates an authority (RFC 3986 section 3.2: host [":" port], no userinfo) as received in Host, an absolute-form
/// target or a CONNECT target. The proxy routes on these bytes, so anything it could misread is rejected.
/// </summary>
internal static class HttpAuthority
{
    /// <summary>
    /// True for reg-name, IPv4 or [IPv6] with an optional port of 1..5 digits up to 65535. Rejected: empty input (an
    /// "http" URI must not have an empty host, RFC 9110 section 4.2.1), userinfo, an empty port ("host:", which would
    /// make two spellings of one tenant key), IPvFuture and zone ids (nothing to route on).
    /// </summary>
    public static bool IsValid(ReadOnlySpan<byte> authority, bool requirePort)
    {
        if (authority.IsEmpty)
        {
            return false;
        }

        int hostLength;
        if (authority[0] == (byte)'[')
        {
            int close = authority.IndexOf((byte)']');
            if (close < 0 || !IsIPv6(authority[1..close]))
            {
                return false;
            }

            hostLength = close + 1;
        }
        else
        {
            hostLength = authority.IndexOfAnyExcept(HttpChars.RegName);
            if (hostLength < 0)
            {
                hostLength = authority.Length;
            }

            if (hostLength == 0 || !IsPctEncodingValid(authority[..hostLength]))
            {
                return false;
            }
        }

        if (hostLength == authority.Length)
        {
            return !requirePort;
        }

        return authority[hostLength] == (byte)':' && IsPort(authority[(hostLength + 1)..]);
    }

    private static bool IsPort(ReadOnlySpan<byte> port)
    {
        if ((uint)(port.Length - 1) > 4)
        {
            return false;
        }

        int value = 0;
        foreach (byte b in port)
        {
            if (!HttpChars.IsDigit(b))
            {
                return false;
            }

            value = (value * 10) + (b - '0');
        }

        return value <= 65535;
    }

    private static bool IsPctEncodingValid(ReadOnlySpan<byte> host)
    {
        int i = host.IndexOf((byte)'%');
        while (i >= 0)
        {
            if (i + 2 >= host.Length || !HttpChars.IsHex(host[i + 1]) || !HttpChars.IsHex(host[i + 2]))
            {
                return false;
            }

            int next = host[(i + 3)..].IndexOf((byte)'%');
            i = next < 0 ? -1 : i + 3 + next;
        }

        return true;
    }

    /// <summary>IPv6address of RFC 3986 section 3.2.2: eight h16 groups, at most one "::", optionally ending in IPv4.</summary>
    internal static bool IsIPv6(ReadOnlySpan<byte> s)
    {
        if (s.Length < 2)
        {
            return false;
        }

        int groups = 0;
        bool elided = false;
        int i = 0;
        if (s[0] == (byte)':')
        {
            if (s[1] != (byte)':')
            {
                return false;
            }

            elided = true;
            i = 2;
            if (i == s.Length)
            {
                return true;
            }
        }

        while (true)
        {
            int j = i;
            while (j < s.Length && j - i < 4 && HttpChars.IsHex(s[j]))
            {
                j++;
            }

            if (j == i)
            {
                return false;
            }

            if (j < s.Length && s[j] == (byte)'.')
            {
                if (!IsIPv4(s[i..]))
                {
                    return false;
                }

                groups += 2;
                break;
            }

            groups++;
            if (j == s.Length)
            {
                break;
            }

            if (s[j] != (byte)':')
            {
                return false;
            }

            if (j + 1 < s.Length && s[j + 1] == (byte)':')
            {
                if (elided)
                {
                    return false;
                }

                elided = true;
                i = j + 2;
                if (i == s.Length)
                {
                    break;
                }
            }
            else
            {
                i = j + 1;
                if (i == s.Length)
                {
                    return false;
                }
            }
        }

        return elided ? groups <= 7 : groups == 8;
    }

    /// <summary>IPv4address with dec-octets as RFC 3986 defines them (no leading zeros).</summary>
    internal static bool IsIPv4(ReadOnlySpan<byte> s)
    {
        int parts = 0;
        int i = 0;
        while (true)
        {
            int start = i;
            int value = 0;
            while (i < s.Length && HttpChars.IsDigit(s[i]))
            {
                if (i - start == 3)
                {
                    return false;
                }

                value = (value * 10) + (s[i] - '0');
                i++;
            }

            int digits = i - start;
            if (digits == 0 || value > 255 || (digits > 1 && s[start] == (byte)'0'))
            {
                return false;
            }

            parts++;
            if (i == s.Length)
            {
                return parts == 4;
            }

            if (s[i] != (byte)'.' || parts == 4)
            {
                return false;
            }

            i++;
        }
    }
}
