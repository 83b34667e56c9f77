using System.Buffers.Binary;
using System.Buffers.Text;
using System.Net;
using System.Net.Sockets;

namespace LoadBalancer.Core.Transport;

/// <summary>
/// The PROXY protocol (HAProxy's spec, versions 1 and 2): read from a trusted load balancer in front of lb, to learn
/// the real client address, and written to backends that want it.
/// </summary>
public static class ProxyProtocolCodec
{
    /// <summary>v1 lines are at most 107 bytes including CRLF (spec section 2.1).</summary>
    public const int MaxV1Length = 107;

    /// <summary>lb accepts v2 headers up to this size (addresses plus a reasonable amount of TLVs).</summary>
    public const int MaxV2Length = 16 + 1024;

    public const int MaxWriteLength = 16 + 36;

    private static ReadOnlySpan<byte> V2Signature => [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    /// <summary>
    /// Reads a v1 or v2 header at the start of <paramref name="data"/>. <paramref name="source"/> stays null for
    /// LOCAL/UNKNOWN headers (health checks from the load balancer itself): keep the socket's own address then.
    /// </summary>
    public static ProxyProtocolStatus TryRead(ReadOnlySpan<byte> data, out int consumed, out IPEndPoint? source)
    {
        consumed = 0;
        source = null;
        if (data.IsEmpty)
        {
            return ProxyProtocolStatus.Incomplete;
        }

        if (data[0] == 0x0D)
        {
            return TryReadV2(data, out consumed, out source);
        }

        if (data[0] == (byte)'P')
        {
            return TryReadV1(data, out consumed, out source);
        }

        return ProxyProtocolStatus.Invalid;
    }

    private static ProxyProtocolStatus TryReadV1(ReadOnlySpan<byte> data, out int consumed, out IPEndPoint? source)
    {
        consumed = 0;
        source = null;
        var prefix = "PROXY "u8;
        var compare = Math.Min(prefix.Length, data.Length);
        if (!data[..compare].SequenceEqual(prefix[..compare]))
        {
            return ProxyProtocolStatus.Invalid;
        }

        var lineEnd = data[..Math.Min(data.Length, MaxV1Length)].IndexOf("\r\n"u8);
        if (lineEnd < 0)
        {
            return data.Length >= MaxV1Length ? ProxyProtocolStatus.Invalid : ProxyProtocolStatus.Incomplete;
        }

        var line = data[prefix.Length..lineEnd];
        consumed = lineEnd + 2;
        if (line.StartsWith("UNKNOWN"u8))
        {
            return ProxyProtocolStatus.Complete;
        }

        // "TCP4 src dst sport dport" or "TCP6 ..."; single spaces only.
        Span<Range> parts = stackalloc Range[5];
        var count = 0;
        foreach (var range in line.Split((byte)' '))
        {
            if (count == parts.Length)
            {
                return ProxyProtocolStatus.Invalid;
            }

            parts[count++] = range;
        }

        if (count != 5)
        {
            return ProxyProtocolStatus.Invalid;
        }

        var family = line[parts[0]];
        var isV4 = family.SequenceEqual("TCP4"u8);
        if (!isV4 && !family.SequenceEqual("TCP6"u8))
        {
            return ProxyProtocolStatus.Invalid;
        }

        // Both addresses in the form inet_pton takes (spec section 2.1), so lb reads the header as HAProxy writes
        // and checks it; IPAddress.TryParse alone also takes "1", "0x7f.0.0.1", "010.0.0.1", zones and brackets
        // (found by fuzzing, issue 19). The destination is only validated: lb knows its own address.
        if (!TryParseAddress(line[parts[1]], isV4, out var address)
            || !TryParseAddress(line[parts[2]], isV4, out _)
            || !TryParsePort(line[parts[3]], out var port)
            || !TryParsePort(line[parts[4]], out _))
        {
            return ProxyProtocolStatus.Invalid;
        }

        source = new IPEndPoint(address, port);
        return ProxyProtocolStatus.Complete;
    }

    /// <summary>0..65535 in plain decimal: no sign (Utf8Parser alone takes "-0" and "+1"), no leading zero.</summary>
    private static bool TryParsePort(ReadOnlySpan<byte> text, out int port)
    {
        port = 0;
        return text.Length is >= 1 and <= 5 && text.IndexOfAnyExceptInRange((byte)'0', (byte)'9') < 0
            && (text.Length == 1 || text[0] != (byte)'0')
            && Utf8Parser.TryParse(text, out port, out _) && port <= 65535;
    }

    /// <summary>TCP4: four decimal octets without leading zeros. TCP6: hex digits, ':' and '.' only (no zone, no brackets).</summary>
    private static bool TryParseAddress(ReadOnlySpan<byte> bytes, bool isV4, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IPAddress? address)
    {
        address = null;
        if (bytes.IsEmpty || bytes.Length > 45 || (isV4 && !IsDottedQuad(bytes)) || (!isV4 && bytes.IndexOfAnyExcept(V6Chars) >= 0))
        {
            return false;
        }

        Span<char> text = stackalloc char[45];
        for (var i = 0; i < bytes.Length; i++)
        {
            text[i] = (char)bytes[i];
        }

        return IPAddress.TryParse(text[..bytes.Length], out address)
            && (address.AddressFamily == AddressFamily.InterNetwork) == isV4;
    }

    private static readonly System.Buffers.SearchValues<byte> V6Chars = System.Buffers.SearchValues.Create("0123456789abcdefABCDEF:."u8);

    private static bool IsDottedQuad(ReadOnlySpan<byte> text)
    {
        var parts = 0;
        foreach (var range in text.Split((byte)'.'))
        {
            var part = text[range];
            if (++parts > 4 || part.Length is 0 or > 3 || part.IndexOfAnyExceptInRange((byte)'0', (byte)'9') >= 0
                || (part.Length > 1 && part[0] == (byte)'0') || (part.Length == 3 && part.SequenceCompareTo("255"u8) > 0))
            {
                return false;
            }
        }

        return parts == 4;
    }

    private static ProxyProtocolStatus TryReadV2(ReadOnlySpan<byte> data, out int consumed, out IPEndPoint? source)
    {
        consumed = 0;
        source = null;
        var signature = V2Signature;
        var compare = Math.Min(signature.Length, data.Length);
        if (!data[..compare].SequenceEqual(signature[..compare]))
        {
            return ProxyProtocolStatus.Invalid;
        }

        if (data.Length < 16)
        {
            return ProxyProtocolStatus.Incomplete;
        }

        var versionCommand = data[12];
        var familyProtocol = data[13];
        var length = BinaryPrimitives.ReadUInt16BigEndian(data[14..16]);
        if ((versionCommand >> 4) != 2 || 16 + length > MaxV2Length)
        {
            return ProxyProtocolStatus.Invalid;
        }

        if (data.Length < 16 + length)
        {
            return ProxyProtocolStatus.Incomplete;
        }

        consumed = 16 + length;
        var command = versionCommand & 0x0F;
        if (command == 0)
        {
            return ProxyProtocolStatus.Complete; // LOCAL: the connection is the load balancer's own.
        }

        if (command != 1)
        {
            return ProxyProtocolStatus.Invalid;
        }

        var addresses = data.Slice(16, length);
        switch (familyProtocol)
        {
            case 0x11 when length >= 12: // TCP over IPv4
                source = new IPEndPoint(new IPAddress(addresses[..4]), BinaryPrimitives.ReadUInt16BigEndian(addresses[8..10]));
                return ProxyProtocolStatus.Complete;
            case 0x21 when length >= 36: // TCP over IPv6
                source = new IPEndPoint(new IPAddress(addresses[..16]), BinaryPrimitives.ReadUInt16BigEndian(addresses[32..34]));
                return ProxyProtocolStatus.Complete;
            case 0x00:
                return ProxyProtocolStatus.Complete; // UNSPEC: keep the socket's address.
            default:
                return ProxyProtocolStatus.Invalid;
        }
    }

    public static int WriteV1(Span<byte> destination, IPEndPoint source, IPEndPoint target)
    {
        var (src, dst) = SameFamily(source, target);
        var family = src.AddressFamily == AddressFamily.InterNetwork ? "TCP4" : "TCP6";
        var line = $"PROXY {family} {src.Address} {dst.Address} {src.Port} {dst.Port}\r\n";
        return System.Text.Encoding.ASCII.GetBytes(line, destination);
    }

    public static int WriteV2(Span<byte> destination, IPEndPoint source, IPEndPoint target)
    {
        var (src, dst) = SameFamily(source, target);
        V2Signature.CopyTo(destination);
        destination[12] = 0x21; // version 2, PROXY
        var isV4 = src.AddressFamily == AddressFamily.InterNetwork;
        destination[13] = isV4 ? (byte)0x11 : (byte)0x21;
        var addressLength = isV4 ? 4 : 16;
        var length = (addressLength * 2) + 4;
        BinaryPrimitives.WriteUInt16BigEndian(destination[14..], (ushort)length);
        src.Address.TryWriteBytes(destination[16..], out _);
        dst.Address.TryWriteBytes(destination[(16 + addressLength)..], out _);
        BinaryPrimitives.WriteUInt16BigEndian(destination[(16 + (2 * addressLength))..], (ushort)src.Port);
        BinaryPrimitives.WriteUInt16BigEndian(destination[(18 + (2 * addressLength))..], (ushort)dst.Port);
        return 16 + length;
    }

    /// <summary>Both addresses of a PROXY header must share a family: map IPv4 to IPv6 when they differ.</summary>
    private static (IPEndPoint Source, IPEndPoint Target) SameFamily(IPEndPoint source, IPEndPoint target)
    {
        var src = source.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(source.Address.MapToIPv4(), source.Port) : source;
        var dst = target.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(target.Address.MapToIPv4(), target.Port) : target;
        if (src.AddressFamily == dst.AddressFamily)
        {
            return (src, dst);
        }

        return (new IPEndPoint(src.Address.MapToIPv6(), src.Port), new IPEndPoint(dst.Address.MapToIPv6(), dst.Port));
    }
}
