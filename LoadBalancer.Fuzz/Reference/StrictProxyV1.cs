using System.Net;

namespace LoadBalancer.Fuzz.Reference;

/// <summary>
/// A strict reading of a PROXY v1 line per HAProxy's proxy-protocol.txt section 2.1, written apart from lb's codec:
/// "PROXY" SP ("TCP4" | "TCP6") SP src SP dst SP sport SP dport CRLF, addresses in the textual form inet_pton accepts
/// (dotted quad of decimal octets without leading zeros; RFC 4291 section 2.2 IPv6 text without a zone), ports
/// 0..65535 in decimal without leading zeros, at most 107 bytes; or "PROXY UNKNOWN" and anything up to CRLF.
/// </summary>
internal static class StrictProxyV1
{
    /// <summary>Null when the line is malformed; else whether it was UNKNOWN and, if not, the source endpoint.</summary>
    public static (bool Unknown, IPEndPoint? Source)? Parse(ReadOnlySpan<byte> line)
    {
        // line excludes the CRLF.
        if (line.Length + 2 > 107 || !line.StartsWith("PROXY "u8))
        {
            return null;
        }

        var rest = line[6..];
        if (rest.StartsWith("UNKNOWN"u8))
        {
            return (true, null);
        }

        var fields = new List<byte[]>();
        int start = 0;
        for (int i = 0; i <= rest.Length; i++)
        {
            if (i == rest.Length || rest[i] == (byte)' ')
            {
                fields.Add(rest[start..i].ToArray());
                start = i + 1;
            }
        }

        if (fields.Count != 5)
        {
            return null;
        }

        bool v4 = fields[0].AsSpan().SequenceEqual("TCP4"u8);
        if (!v4 && !fields[0].AsSpan().SequenceEqual("TCP6"u8))
        {
            return null;
        }

        var source = v4 ? ParseIPv4(fields[1]) : ParseIPv6(fields[1]);
        var target = v4 ? ParseIPv4(fields[2]) : ParseIPv6(fields[2]);
        int sourcePort = ParsePort(fields[3]);
        int targetPort = ParsePort(fields[4]);
        if (source is null || target is null || sourcePort < 0 || targetPort < 0)
        {
            return null;
        }

        return (false, new IPEndPoint(source, sourcePort));
    }

    private static int ParsePort(byte[] text)
    {
        int value = ParsePortLike(text, maxDigits: 5);
        return value <= 65535 ? value : -1;
    }

    private static IPAddress? ParseIPv4(ReadOnlySpan<byte> text)
    {
        Span<byte> octets = stackalloc byte[4];
        int count = 0;
        int start = 0;
        for (int i = 0; i <= text.Length; i++)
        {
            if (i < text.Length && text[i] != (byte)'.')
            {
                continue;
            }

            var part = text[start..i];
            int value = ParsePortLike(part, maxDigits: 3);
            if (count == 4 || value is < 0 or > 255)
            {
                return null;
            }

            octets[count++] = (byte)value;
            start = i + 1;
        }

        return count == 4 ? new IPAddress(octets) : null;
    }

    private static int ParsePortLike(ReadOnlySpan<byte> text, int maxDigits)
    {
        if (text.Length == 0 || text.Length > maxDigits || (text.Length > 1 && text[0] == (byte)'0'))
        {
            return -1;
        }

        int value = 0;
        foreach (byte b in text)
        {
            if (b is < (byte)'0' or > (byte)'9')
            {
                return -1;
            }

            value = (value * 10) + (b - '0');
        }

        return value;
    }

    /// <summary>RFC 4291 section 2.2: eight 1..4-digit hex groups, one "::" for a run of zero groups, an IPv4 tail.</summary>
    internal static IPAddress? ParseIPv6(ReadOnlySpan<byte> text)
    {
        var s = System.Text.Encoding.ASCII.GetString(text);
        if (s.Length == 0 || s.Any(c => !(Uri.IsHexDigit(c) || c is ':' or '.')))
        {
            return null;
        }

        int elision = s.IndexOf("::", StringComparison.Ordinal);
        if (elision >= 0 && s.IndexOf("::", elision + 1, StringComparison.Ordinal) >= 0)
        {
            return null;
        }

        var groups = new List<ushort>();
        bool ok = true;
        void Add(string part, bool last)
        {
            if (part.Length == 0)
            {
                return;
            }

            foreach (var g in part.Split(':'))
            {
                if (g.Contains('.'))
                {
                    var v4 = last && g == part.Split(':')[^1] ? ParseIPv4(System.Text.Encoding.ASCII.GetBytes(g)) : null;
                    if (v4 is null)
                    {
                        ok = false;
                        return;
                    }

                    var b = v4.GetAddressBytes();
                    groups.Add((ushort)((b[0] << 8) | b[1]));
                    groups.Add((ushort)((b[2] << 8) | b[3]));
                }
                else if (g.Length is >= 1 and <= 4)
                {
                    groups.Add(Convert.ToUInt16(g, 16));
                }
                else
                {
                    ok = false;
                    return;
                }
            }
        }

        var head = new List<ushort>();
        if (elision < 0)
        {
            Add(s, last: true);
            if (!ok || groups.Count != 8)
            {
                return null;
            }
        }
        else
        {
            Add(s[..elision], last: false);
            head.AddRange(groups);
            groups.Clear();
            Add(s[(elision + 2)..], last: true);
            if (!ok || head.Count + groups.Count > 7)
            {
                return null;
            }

            var zeros = Enumerable.Repeat((ushort)0, 8 - head.Count - groups.Count);
            groups = [.. head, .. zeros, .. groups];
        }

        var bytes = new byte[16];
        for (int i = 0; i < 8; i++)
        {
            bytes[2 * i] = (byte)(groups[i] >> 8);
            bytes[(2 * i) + 1] = (byte)groups[i];
        }

        return new IPAddress(bytes);
    }
}
