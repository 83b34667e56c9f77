using System.Buffers.Binary;
using LoadBalancer.Core.Config;
using LoadBalancer.Core.Http2.Frames;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd.Http2;

/// <summary>
/// A reload that removes a listener closes its connections as a drain would: HTTP/2 gets GOAWAY (NO_ERROR) and its
/// in-flight stream still completes; an idle HTTP/1.1 keep-alive connection is closed; the listener that stays serves.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class Http2ListenerRemovedTests
{
    private const byte EndStream = 0x1, EndHeaders = 0x4;

    private static string Config(string backend, string quick, bool withExtra) => $$"""
        [[listeners]]
        name = "web"
        listen = "127.0.0.1:0"
        http2 = true

        {{(withExtra ? "[[listeners]]\nname = \"extra\"\nlisten = \"127.0.0.1:0\"\nhttp2 = true\n" : "")}}

        [[tenants]]
        name = "acme"
        match = ["acme.test"]
        pool = "p"

        [[tenants]]
        name = "quick"
        match = ["quick.test"]
        pool = "q"

        [[pools]]
        name = "p"
        backends = [ { address = "{{backend}}" } ]

        [[pools]]
        name = "q"
        backends = [ { address = "{{quick}}" } ]
        """;

    [Test]
    [CancelAfter(30_000)]
    public async Task ReloadRemovingTheListener_Http2GetsGoAway_InFlightStreamFinishes_IdleHttp1Closed(CancellationToken cancellationToken)
    {
        await using var backend = HoldingBackend.Start("held", hold: true);
        await using var quick = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(Config(backend.Address, quick.Address, withExtra: true));
        var extra = lb.EndPoint("extra");

        await using var h2 = await RawHttp2Client.ConnectAsync(extra, cancellationToken);
        await h2.SendAsync(RawHttp2Client.Frame(1, EndHeaders | EndStream, 1, RawHttp2Client.Block(RawHttp2Client.Get("acme.test", "/slow"))), cancellationToken);
        await backend.WaitForRequestsAsync(1, cancellationToken);
        await using var http1 = await RawHttpConnection.ConnectAsync(extra, cancellationToken);
        await http1.SendAsync("GET /idle HTTP/1.1\r\nHost: quick.test\r\n\r\n", cancellationToken);
        Assert.That((await http1.ReadResponseAsync(cancellationToken))!.Status, Is.EqualTo(200));

        var reloaded = ConfigLoader.LoadText(Config(backend.Address, quick.Address, withExtra: false), "test.toml", lb.Snapshot);
        Assert.That(await lb.Engine.ApplyAsync(reloaded.Snapshot!), Is.True);

        var goAway = await h2.ReadUntilAsync(h => h.Type == Http2FrameType.GoAway, cancellationToken);
        Assert.That(goAway, Is.Not.Null, "GOAWAY before the connection closes");
        Assert.That(BinaryPrimitives.ReadUInt32BigEndian(goAway!.Value.Payload.AsSpan(4)), Is.Zero, "NO_ERROR");
        Assert.That(BinaryPrimitives.ReadInt32BigEndian(goAway.Value.Payload) & 0x7FFFFFFF, Is.EqualTo(1), "the last stream id covers the in-flight stream");

        backend.Release();
        var status = await h2.StatusAsync(1, cancellationToken);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(200), "the in-flight stream finished");
            Assert.That(await http1.ReadResponseAsync(cancellationToken), Is.Null, "the idle keep-alive connection was closed");
        }

        // The listener that stays still serves.
        await using var web = await RawHttpConnection.ConnectAsync(lb.EndPoint("web"), cancellationToken);
        await web.SendAsync("GET / HTTP/1.1\r\nHost: acme.test\r\n\r\n", cancellationToken);
        Assert.That((await web.ReadResponseAsync(cancellationToken))!.Status, Is.EqualTo(200));
    }
}
