using System.Net;
using System.Text;

namespace LoadBalancer.Core.Proxy;

/// <summary>
/// The client address as lb writes it (X-Forwarded-For, the access log) and hashes it (<c>hash_on = "client_ip"</c>,
/// L4 pools): an IPv4-mapped IPv6 address is written as IPv4, so one client is one key whichever listener it came
/// through (a dual-stack L4 listener sees ::ffff:a.b.c.d where an IPv4 L7 listener sees a.b.c.d).
/// </summary>
internal static class ClientAddress
{
    private static readonly byte[] Unknown = "unknown"u8.ToArray();

    /// <summary>Once per connection (or per PROXY header): the bytes are kept for every request on it.</summary>
    public static byte[] Format(IPEndPoint? remote)
    {
        if (remote is null)
        {
            return Unknown;
        }

        var address = remote.Address.IsIPv4MappedToIPv6 ? remote.Address.MapToIPv4() : remote.Address;
        return Encoding.ASCII.GetBytes(address.ToString());
    }
}
