using System.Text;
using NUnit.Framework;
using LoadBalancer.Core.Transport;

namespace LoadBalancer.Tests.Unit.Transport;

/// <summary>Regression tests for what the LoadBalancer.Fuzz `proxy-protocol` target found (issue 19).</summary>
[TestFixture]
public sealed class ProxyProtocolFuzzFindingsTests
{
    // proxy-protocol target, "v1 accepted exactly when the strict reference accepts": the destination address was
    // never parsed, and IPAddress.TryParse takes forms inet_pton (HAProxy's spec, section 2.1) refuses.
    [TestCase("PROXY TCP4 192.168.0.1 192.336.0.11 56324 443\r\n", TestName = "destination not an address")]
    [TestCase("PROXY TCP4 192.168.0.1 garbage 56324 443\r\n", TestName = "destination garbage")]
    [TestCase("PROXY TCP4 1 192.168.0.11 56324 443\r\n", TestName = "IPv4 as one number")]
    [TestCase("PROXY TCP4 192.168.1 192.168.0.11 56324 443\r\n", TestName = "IPv4 with three parts")]
    [TestCase("PROXY TCP4 010.0.0.1 192.168.0.11 56324 443\r\n", TestName = "IPv4 octet with a leading zero")]
    [TestCase("PROXY TCP4 0x7f.0.0.1 192.168.0.11 56324 443\r\n", TestName = "IPv4 hex octet")]
    [TestCase("PROXY TCP6 fe80::1%eth0 ::1 56324 443\r\n", TestName = "IPv6 zone")]
    [TestCase("PROXY TCP6 [::1] ::1 56324 443\r\n", TestName = "IPv6 in brackets")]
    [TestCase("PROXY TCP4 192.168.0.1 192.168.0.11 -0 443\r\n", TestName = "port -0")]
    [TestCase("PROXY TCP4 192.168.0.1 192.168.0.11 +1 443\r\n", TestName = "port +1")]
    public void TryRead_V1AddressOrPortInvalid_IsInvalid(string header)
    {
        var status = ProxyProtocolCodec.TryRead(Encoding.ASCII.GetBytes(header), out _, out var source);

        Assert.That(status, Is.EqualTo(ProxyProtocolStatus.Invalid), $"source {source}");
    }

    [TestCase("PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n", "0.0.0.0:0")]
    [TestCase("PROXY TCP6 2001:DB8::1 ::ffff:192.0.2.1 1 2\r\n", "[2001:db8::1]:1")]
    public void TryRead_V1StrictForms_AreAccepted(string header, string expected)
    {
        var status = ProxyProtocolCodec.TryRead(Encoding.ASCII.GetBytes(header), out _, out var source);

        Assert.That((status, source?.ToString()), Is.EqualTo((ProxyProtocolStatus.Complete, expected)));
    }
}
