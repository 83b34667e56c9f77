using NUnit.Framework;
using static LoadBalancer.Tests.Unit.Config.ConfigTestHelpers;

namespace LoadBalancer.Tests.Unit.Config;

/// <summary>A listener's <c>http2</c>: the boolean, or the table of SETTINGS that turns it on (issue 16).</summary>
[TestFixture]
public sealed class Http2ConfigTests
{
    private static string Config(string listenerLine, string protocol = "http") => OneListener(listenerLine, protocol);

    [Test]
    public void LoadText_Unset_IsOnForHttp_OffForTcp_AndFalseTurnsItOff()
    {
        Assert.That(Load(Config("")).Snapshot!.Listeners[0].Http2, Is.True);
        Assert.That(Load(Config("", protocol: "tcp")).Snapshot!.Listeners[0].Http2, Is.False);
        Assert.That(Load(Config("http2 = false")).Snapshot!.Listeners[0].Http2, Is.False);
    }

    [Test]
    public void LoadText_Boolean_KeepsWorkingWithDefaultSettings()
    {
        var result = Load(Config("http2 = true"));
        Assert.That(result.Success, Is.True, () => string.Join('\n', result.Errors));
        var listener = result.Snapshot!.Listeners[0];
        Assert.That(listener.Http2, Is.True);
        Assert.That(listener.Http2Options, Is.EqualTo(LoadBalancer.Core.Http2.Http2Options.Default));
        Assert.That(listener.Http2Options.MaxConcurrentStreams, Is.EqualTo(100));
    }

    [Test]
    public void LoadText_Table_TurnsItOnWithItsSettings()
    {
        var result = Load(Config("http2 = { max_concurrent_streams = 7, initial_window_size = 1000000, max_frame_size = 32768, max_header_list_size = 8192 }"));
        Assert.That(result.Success, Is.True, () => string.Join('\n', result.Errors));
        var listener = result.Snapshot!.Listeners[0];
        Assert.That(listener.Http2, Is.True);
        Assert.That(listener.Http2Options.MaxConcurrentStreams, Is.EqualTo(7));
        Assert.That(listener.Http2Options.InitialWindowSize, Is.EqualTo(1_000_000));
        Assert.That(listener.Http2Options.MaxFrameSize, Is.EqualTo(32_768));
        Assert.That(listener.Http2Options.MaxHeaderListSize, Is.EqualTo(8192));
        Assert.That(listener.Http2Options.ConnectionReceiveWindow, Is.EqualTo(1 << 20));
    }

    [Test]
    public void LoadText_TableWithEnabledFalse_IsOff()
    {
        var result = Load(Config("http2 = { enabled = false, max_concurrent_streams = 7 }"));
        Assert.That(result.Success, Is.True, () => string.Join('\n', result.Errors));
        Assert.That(result.Snapshot!.Listeners[0].Http2, Is.False);
    }

    [Test]
    public void LoadText_FrameSizeBelowProtocolMinimum_RefusedAtItsPosition()
        => SingleError(Config("http2 = { max_frame_size = 1024 }"), "listeners[0].http2.max_frame_size", 6, 28, "16384");

    [Test]
    public void LoadText_ZeroStreams_Refused()
        => SingleError(Config("http2 = { max_concurrent_streams = 0 }"), "listeners[0].http2.max_concurrent_streams", 6, 36, "");

    [Test]
    public void LoadText_UnknownKey_Refused()
        => SingleError(Config("http2 = { max_streams = 5 }"), "listeners[0].http2.max_streams", 6, 11, "unknown key");

    [Test]
    public void LoadText_OnTcpListener_Refused()
        => SingleError(Config("http2 = true", protocol: "tcp"), "listeners[0].http2", 6, 9, "http listeners only");
}
