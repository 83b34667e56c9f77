using System.Net;
using System.Text;
using LoadBalancer.Core.Proxy;

namespace LoadBalancer.Tests.Unit.Proxy;

[TestFixture]
public sealed class ClientAddressTests
{
    [TestCase("::ffff:192.0.2.7", "192.0.2.7")]
    [TestCase("192.0.2.7", "192.0.2.7")]
    [TestCase("2001:db8::1", "2001:db8::1")]
    public void Format_WritesIPv4MappedAsIPv4(string address, string expected)
        => Assert.That(Encoding.ASCII.GetString(ClientAddress.Format(new IPEndPoint(IPAddress.Parse(address), 1234))), Is.EqualTo(expected));
}
