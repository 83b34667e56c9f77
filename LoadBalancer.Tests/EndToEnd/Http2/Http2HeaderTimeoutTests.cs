using System.Diagnostics;
using LoadBalancer.Core.Http2.Frames;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd.Http2;

/// <summary>
/// A header block left open (HEADERS without END_HEADERS, no CONTINUATION) is a request head that never completes:
/// timeouts.request_head ends the connection, whether or not other streams run, as the HTTP/1.1 slowloris defence does.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class Http2HeaderTimeoutTests
{
    private const byte EndStream = 0x1;
    private const byte EndHeaders = 0x4;

    private static string Config(string backend) => TestConfigs.OneTenant(backend, listenerExtra: "http2 = true\ntimeouts = { request_head = \"300ms\", keep_alive = \"60s\", body_idle = \"60s\" }");

    /// <summary>Reads frames until lb closes the connection; returns how long that took.</summary>
    private static async Task<TimeSpan> UntilClosedAsync(RawHttp2Client client, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (await client.ReadFrameAsync(cancellationToken) is not null)
        {
        }

        return clock.Elapsed;
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task OpenHeaderBlock_NoStreams_ClosedAfterRequestHead_NotKeepAlive(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(Config(backend.Address));
        await using var client = await RawHttp2Client.ConnectAsync(lb.EndPoint(), cancellationToken);

        await client.SendAsync(RawHttp2Client.Frame(1, EndStream, 1, RawHttp2Client.Block(RawHttp2Client.Get("acme.example.com"))), cancellationToken);

        Assert.That(await UntilClosedAsync(client, cancellationToken), Is.LessThan(TimeSpan.FromSeconds(15)), "request_head (300 ms), not keep_alive (60 s)");
        Assert.That(backend.Requests, Is.Empty);
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task OpenHeaderBlock_WhileAnotherStreamRuns_StillClosedAfterRequestHead(CancellationToken cancellationToken)
    {
        await using var backend = HoldingBackend.Start("held", hold: true);
        await using var lb = await TestLb.StartAsync(Config(backend.Address));
        await using var client = await RawHttp2Client.ConnectAsync(lb.EndPoint(), cancellationToken);

        await client.SendAsync(RawHttp2Client.Frame(1, EndHeaders | EndStream, 1, RawHttp2Client.Block(RawHttp2Client.Get("acme.example.com", "/running"))), cancellationToken);
        await backend.WaitForRequestsAsync(1, cancellationToken);
        await client.SendAsync(RawHttp2Client.Frame(1, EndStream, 3, RawHttp2Client.Block(RawHttp2Client.Get("acme.example.com", "/stalled"))), cancellationToken);

        Assert.That(await UntilClosedAsync(client, cancellationToken), Is.LessThan(TimeSpan.FromSeconds(15)), "a running stream does not lift the header block's deadline");
        Assert.That(backend.Heads.Count, Is.EqualTo(1), "the stalled block never became a request");
    }
}
