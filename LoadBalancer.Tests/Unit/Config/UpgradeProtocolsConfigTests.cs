using System.Text;
using NUnit.Framework;
using static LoadBalancer.Tests.Unit.Config.ConfigTestHelpers;

namespace LoadBalancer.Tests.Unit.Config;

/// <summary><c>upgrade_protocols</c> on a listener (issue 11, rule 5): default websocket, h2c refused, tokens only.</summary>
[TestFixture]
public sealed class UpgradeProtocolsConfigTests
{
    private static string Config(string listenerLine, string protocol = "http") => OneListener(listenerLine, protocol);

    [Test]
    public void LoadText_NoUpgradeProtocols_DefaultsToWebsocket()
    {
        var result = Load(Config(""));
        Assert.That(result.Success, Is.True, () => string.Join('\n', result.Errors));
        Assert.That(result.Snapshot!.Listeners[0].UpgradeProtocols.Select(p => Encoding.ASCII.GetString(p)), Is.EqualTo(new[] { "websocket" }));
    }

    [Test]
    public void LoadText_UpgradeProtocols_CompiledLowerCase()
    {
        var result = Load(Config("upgrade_protocols = [\"WebSocket\", \"echo\"]"));
        Assert.That(result.Success, Is.True, () => string.Join('\n', result.Errors));
        Assert.That(result.Snapshot!.Listeners[0].UpgradeProtocols.Select(p => Encoding.ASCII.GetString(p)), Is.EqualTo(new[] { "websocket", "echo" }));
    }

    [Test]
    public void LoadText_EmptyUpgradeProtocols_AllowsNone()
    {
        var result = Load(Config("upgrade_protocols = []"));
        Assert.That(result.Success, Is.True);
        Assert.That(result.Snapshot!.Listeners[0].UpgradeProtocols, Is.Empty);
    }

    [Test]
    public void LoadText_H2c_Refused()
        => SingleError(Config("upgrade_protocols = [\"websocket\", \"h2c\"]"), "listeners[0].upgrade_protocols[1]", 6, 35, "h2c is never allowed");

    [Test]
    public void LoadText_NotAToken_Refused()
        => SingleError(Config("upgrade_protocols = [\"web socket\"]"), "listeners[0].upgrade_protocols[0]", 6, 22, "must be a protocol name");

    [Test]
    public void LoadText_OnTcpListener_Refused()
        => SingleError(Config("upgrade_protocols = [\"websocket\"]", protocol: "tcp"), "listeners[0].upgrade_protocols", 6, 21, "http listeners only");
}
