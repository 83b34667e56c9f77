namespace LoadBalancer.Core.Tls;

/// <summary>Which certificate names cover a host: the exact name, or a <c>*.</c> wildcard for exactly one more label (RFC 6125 section 6.4.3).</summary>
internal static class TlsNames
{
    public static bool Covers(string[] names, string host)
    {
        var dot = host.IndexOf('.');
        foreach (var name in names)
        {
            if (string.Equals(name, host, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }

            if (dot > 0 && name.StartsWith("*.", StringComparison.Ordinal) && host.AsSpan(dot + 1).Equals(name.AsSpan(2), StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary><see cref="Covers(string[], string)"/> for a host as it came in a request (ASCII bytes), without allocating.</summary>
    public static bool Covers(string[] names, ReadOnlySpan<byte> host)
    {
        var dot = host.IndexOf((byte)'.');
        foreach (var name in names)
        {
            if (System.Text.Ascii.EqualsIgnoreCase(host, name))
            {
                return true;
            }

            if (dot > 0 && name.StartsWith("*.", StringComparison.Ordinal) && System.Text.Ascii.EqualsIgnoreCase(host[(dot + 1)..], name.AsSpan(2)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The host of an authority: without its port, and without a trailing dot (an IPv6 literal keeps its brackets).</summary>
    public static ReadOnlySpan<byte> HostOf(ReadOnlySpan<byte> authority)
    {
        ReadOnlySpan<byte> host;
        if (authority.Length > 0 && authority[0] == (byte)'[')
        {
            var close = authority.IndexOf((byte)']');
            host = close < 0 ? authority : authority[..(close + 1)];
        }
        else
        {
            var colon = authority.LastIndexOf((byte)':');
            host = colon < 0 ? authority : authority[..colon];
        }

        return host.Length > 0 && host[^1] == (byte)'.' ? host[..^1] : host;
    }

    /// <summary>An IPv6 literal in brackets, or a dotted IPv4 address (digits and dots only).</summary>
    public static bool IsAddressLiteral(ReadOnlySpan<byte> host)
        => host.Length > 0 && (host[0] == (byte)'[' || host.IndexOfAnyExcept("0123456789."u8) < 0);
}
