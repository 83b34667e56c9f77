using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace LoadBalancer.Core.Transport;

/// <summary>
/// The peer of an accepted socket as accept4(2) reported it, kept inline in the channel: no getpeername call, and no
/// IPEndPoint, IPAddress and address string held by every connection (about 110 bytes each) for an address that
/// lb only needs as X-Forwarded-For text, and as an endpoint only for a PROXY header to a backend.
/// </summary>
internal readonly struct PeerAddress
{
    private readonly UInt128 _address; // network byte order, IPv4 in the first four bytes
    private readonly ushort _port;
    private readonly AddressFamily _family;

    private PeerAddress(AddressFamily family, UInt128 address, ushort port)
    {
        _family = family;
        _address = address;
        _port = port;
    }

    public bool IsKnown => _family is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6;

    /// <summary>From a sockaddr_in or sockaddr_in6 (Linux layout); unknown for anything else.</summary>
    public static PeerAddress FromSockaddr(ReadOnlySpan<byte> sockaddr)
    {
        if (sockaddr.Length < 2)
        {
            return default;
        }

        var family = BinaryPrimitives.ReadUInt16LittleEndian(sockaddr);
        if (family == 2 && sockaddr.Length >= 8)
        {
            Span<byte> address = stackalloc byte[16];
            sockaddr.Slice(4, 4).CopyTo(address);
            return new PeerAddress(AddressFamily.InterNetwork, BinaryPrimitives.ReadUInt128LittleEndian(address), BinaryPrimitives.ReadUInt16BigEndian(sockaddr[2..]));
        }

        if (family == 10 && sockaddr.Length >= 24)
        {
            return new PeerAddress(AddressFamily.InterNetworkV6, BinaryPrimitives.ReadUInt128LittleEndian(sockaddr.Slice(8, 16)), BinaryPrimitives.ReadUInt16BigEndian(sockaddr[2..]));
        }

        return default;
    }

    public IPEndPoint ToEndPoint()
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128LittleEndian(bytes, _address);
        var address = _family == AddressFamily.InterNetwork ? new IPAddress(bytes[..4]) : new IPAddress(bytes);
        return new IPEndPoint(address, _port);
    }
}
