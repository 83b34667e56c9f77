using LoadBalancer.Core.Http2.Frames;
using LoadBalancer.Tests.TestSupport;
using NUnit.Framework;

namespace LoadBalancer.Tests.EndToEnd.Http2;

/// <summary>The <c>http2 = { ... }</c> settings reach the client in lb's first SETTINGS, and the stream limit holds.</summary>
[TestFixture]
public sealed class Http2SettingsTests
{
    private static CancellationToken Bound() => new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token;

    [Test]
    public async Task ConfiguredSettings_AreAdvertised_AndAStreamPastTheLimitIsRefused()
    {
        await using var silent = new SilentBackend();
        await using var lb = await TestLb.StartAsync(TestConfigs.OneTenant(silent.Address,
            listenerExtra: "http2 = { max_concurrent_streams = 2, initial_window_size = 200000, max_frame_size = 32768, max_header_list_size = 8192 }"));
        var token = Bound();
        await using var client = await RawHttp2Client.ConnectAsync(lb.EndPoint(), token);

        var settings = await client.ReadUntilAsync(h => h.Type == Http2FrameType.Settings && (h.Flags & Http2Flags.Ack) == 0, token);
        Assert.That(settings, Is.Not.Null, "the connection closed before lb's SETTINGS");
        var advertised = new Http2Settings();
        Assert.That(advertised.Apply(settings!.Value.Payload).IsFault, Is.False);
        Assert.That(advertised.MaxConcurrentStreams, Is.EqualTo(2u));
        Assert.That(advertised.InitialWindowSize, Is.EqualTo(200_000));
        Assert.That(advertised.MaxFrameSize, Is.EqualTo(32_768));
        Assert.That(advertised.MaxHeaderListSize, Is.EqualTo(8192u));

        // Two streams wait on a backend that never answers; the third is past the advertised limit.
        for (var id = 1; id <= 5; id += 2)
        {
            await client.SendAsync(RawHttp2Client.Frame((int)Http2FrameType.Headers, (byte)(Http2Flags.EndHeaders | Http2Flags.EndStream), id, RawHttp2Client.Block(RawHttp2Client.Get("acme.example.com"))), token);
        }

        var reset = await client.ReadUntilAsync(h => h.Type == Http2FrameType.RstStream, token);
        Assert.That(reset, Is.Not.Null, "the connection closed");
        Assert.That(reset!.Value.Header.StreamId, Is.EqualTo(5));
        Assert.That((Http2ErrorCode)System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(reset.Value.Payload), Is.EqualTo(Http2ErrorCode.RefusedStream));
    }
}
