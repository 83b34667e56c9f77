using NUnit.Framework;
using static LoadBalancer.Tests.Unit.Config.ConfigTestHelpers;

namespace LoadBalancer.Tests.Unit.Config;

/// <summary>A pool's <c>protocol</c>: "http/1.1" (the default) or "h2" (issue 16).</summary>
[TestFixture]
public sealed class PoolProtocolConfigTests
{
    private static string Config(string poolLine) => OneListener("") + "\n" + poolLine;

    [TestCase("", false)]
    [TestCase("protocol = \"http/1.1\"", false)]
    [TestCase("protocol = \"h2\"", true)]
    public void LoadText_Protocol_CompilesIntoThePool(string line, bool http2)
    {
        var result = Load(Config(line));
        Assert.That(result.Success, Is.True, () => string.Join('\n', result.Errors));
        Assert.That(result.Snapshot!.Pools["p"].Http2, Is.EqualTo(http2));
    }

    [Test]
    public void LoadText_UnknownProtocol_IsRefusedWithItsPosition()
        => SingleError(Config("protocol = \"h3\""), "pools[0].protocol", 16, 12, "must be \"http/1.1\" or \"h2\", not \"h3\"");

    [Test]
    public void LoadText_H2WithSendProxyProtocol_IsRefused()
        => SingleError(Config("protocol = \"h2\"\nsend_proxy_protocol = \"v2\""), "pools[0].send_proxy_protocol", 17, 23, "cannot be used with protocol = \"h2\"");
}
