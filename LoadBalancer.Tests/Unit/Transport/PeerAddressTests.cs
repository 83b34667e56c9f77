using System.Net;
using System.Net.Sockets;
using LoadBalancer.Core.Proxy;
using LoadBalancer.Core.Transport;

namespace LoadBalancer.Tests.Unit.Transport;

/// <summary>The peer address as accept4 hands it over (Linux sockaddr layouts), and the X-Forwarded-For text made of it.</summary>
[TestFixture]
public sealed class PeerAddressTests
{
    // .NET's SocketAddress holds the native sockaddr on Linux: what accept4 writes.
    private static byte[] Sockaddr(IPEndPoint endPoint) => endPoint.Serialize().Buffer.ToArray();

    [TestCase("127.0.0.1", 40000)]
    [TestCase("10.1.2.3", 1)]
    [TestCase("::1", 65535)]
    [TestCase("2001:db8::7", 443)]
    public void FromSockaddr_GivesTheSameEndPoint(string address, int port)
    {
        var endPoint = new IPEndPoint(IPAddress.Parse(address), port);
        var peer = PeerAddress.FromSockaddr(Sockaddr(endPoint));
        Assert.That(peer.IsKnown, Is.True);
        Assert.That(peer.ToEndPoint(), Is.EqualTo(endPoint));
    }

    [Test]
    public void V4MappedPeer_IsWrittenAsIPv4()
    {
        var peer = PeerAddress.FromSockaddr(Sockaddr(new IPEndPoint(IPAddress.Parse("::ffff:192.0.2.9"), 5000)));
        Assert.That(System.Text.Encoding.ASCII.GetString(ClientAddress.Format(peer.ToEndPoint())), Is.EqualTo("192.0.2.9"));
    }

    [Test]
    public void OtherFamiliesAndShortBuffers_AreUnknown()
    {
        Assert.That(default(PeerAddress).IsKnown, Is.False, "a channel not accepted by a loop asks its socket instead");
        Assert.That(PeerAddress.FromSockaddr([1, 0, 0, 0]).IsKnown, Is.False, "AF_UNIX");
        Assert.That(PeerAddress.FromSockaddr([2, 0, 0]).IsKnown, Is.False);
        Assert.That(PeerAddress.FromSockaddr([10, 0, 1, 2, 0, 0, 0, 0]).IsKnown, Is.False);
        Assert.That(AddressFamily.InterNetwork, Is.EqualTo((AddressFamily)2), "the Linux AF_INET value the parser reads");
    }
}
