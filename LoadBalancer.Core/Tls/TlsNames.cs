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
}
