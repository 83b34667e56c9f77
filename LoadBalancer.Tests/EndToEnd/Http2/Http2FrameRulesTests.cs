using System.Buffers.Binary;
using LoadBalancer.Core.Http2;
using LoadBalancer.Core.Http2.Frames;
using LoadBalancer.Core.Http2.Hpack;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd.Http2;

/// <summary>
/// RFC 9113 rules and the published HTTP/2 attacks, driven frame by frame through lb with a scripted client: each
/// ends in the stream or connection error the RFC names, and the connection is otherwise unharmed.
/// </summary>
[TestFixture]
public sealed class Http2FrameRulesTests
{
    private const byte EndHeaders = 0x4;
    private const byte EndStream = 0x1;

    private RecordingBackend _backend = null!;
    private TestLb _lb = null!;

    [SetUp]
    public async Task StartAsync()
    {
        _backend = RecordingBackend.Start(_ => RecordingBackend.Ok("ok"));
        _lb = await TestLb.StartAsync(TestConfigs.OneTenant(_backend.Address, listenerExtra: "http2 = true"));
    }

    [TearDown]
    public async Task StopAsync()
    {
        await _lb.DisposeAsync();
        await _backend.DisposeAsync();
    }

    private static CancellationToken Bound() => new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token;

    private static uint ErrorCode(byte[] payload, int offset) => BinaryPrimitives.ReadUInt32BigEndian(payload.AsSpan(offset));

    private static async Task<int> StatusOfAsync(RawHttp2Client client, int streamId, CancellationToken token)
    {
        var status = await client.StatusAsync(streamId, token);
        Assert.That(status, Is.Not.EqualTo(-1), "the stream was reset or the connection closed");
        return status;
    }

    [Test]
    public async Task MalformedRequest_ResetsOnlyItsStream()
    {
        var token = Bound();
        await using var client = await RawHttp2Client.ConnectAsync(_lb.EndPoint(), token);
        await client.SendAsync(RawHttp2Client.Frame(1, EndHeaders | EndStream, 1, RawHttp2Client.Block([.. RawHttp2Client.Get("acme.example.com"), ("connection", "keep-alive")])), token);
        var reset = await client.ReadUntilAsync(h => h.StreamId == 1, token);
        Assert.That(reset!.Value.Header.Type, Is.EqualTo(Http2FrameType.RstStream));
        Assert.That(ErrorCode(reset.Value.Payload, 0), Is.EqualTo((uint)Http2ErrorCode.ProtocolError));

        await client.SendAsync(RawHttp2Client.Frame(1, EndHeaders | EndStream, 3, RawHttp2Client.Block(RawHttp2Client.Get("acme.example.com"))), token);
        Assert.That(await StatusOfAsync(client, 3, token), Is.EqualTo(200), "the connection carries on");
        Assert.That(_backend.Requests, Has.Count.EqualTo(1), "no malformed request was forwarded");
    }

    [Test]
    public async Task EachMalformedShape_IsRefusedBeforeForwarding()
    {
        var token = Bound();
        await using var client = await RawHttp2Client.ConnectAsync(_lb.EndPoint(), token);
        var shapes = new (string, string)[][]
        {
            // No :scheme; an uppercase name; TE other than trailers; a pseudo-header after a field; a Host that
            // disagrees with :authority; connection-specific fields; CR LF in a value; a repeated or unknown pseudo-header.
            [(":method", "GET"), (":path", "/"), (":authority", "acme.example.com")],
            [.. RawHttp2Client.Get("acme.example.com"), ("Upper-Case", "x")],
            [.. RawHttp2Client.Get("acme.example.com"), ("te", "gzip")],
            [("x-first", "1"), .. RawHttp2Client.Get("acme.example.com")],
            [.. RawHttp2Client.Get("acme.example.com"), ("host", "other.example.com")],
            [.. RawHttp2Client.Get("acme.example.com"), ("transfer-encoding", "chunked")],
            [.. RawHttp2Client.Get("acme.example.com"), ("x-bad", "a\r\nb")],
            [.. RawHttp2Client.Get("acme.example.com"), (":path", "/again")],
            [.. RawHttp2Client.Get("acme.example.com"), (":protocol", "websocket")],
        };
        var id = 1;
        foreach (var shape in shapes)
        {
            await client.SendAsync(RawHttp2Client.Frame(1, EndHeaders | EndStream, id, RawHttp2Client.Block(shape)), token);
            var frame = await client.ReadUntilAsync(h => h.StreamId == id, token);
            Assert.That(frame, Is.Not.Null);
            Assert.That(frame!.Value.Header.Type, Is.EqualTo(Http2FrameType.RstStream), string.Join(", ", shape));
            Assert.That(ErrorCode(frame.Value.Payload, 0), Is.EqualTo((uint)Http2ErrorCode.ProtocolError));
            id += 2;
        }

        Assert.That(_backend.Requests, Is.Empty);
        Assert.That(Errors(Http2ErrorKind.MalformedRequest), Is.EqualTo(shapes.Length), "lb_http2_protocol_errors_total{kind=malformed_request}");
    }

    private long Errors(Http2ErrorKind kind) => _lb.Snapshot.Listeners[0].Http2Errors[kind];

    [Test]
    public async Task RapidReset_EndsTheConnectionWithEnhanceYourCalm()
    {
        var token = Bound();
        await using var client = await RawHttp2Client.ConnectAsync(_lb.EndPoint(), token);
        var block = RawHttp2Client.Block([.. RawHttp2Client.Get("acme.example.com"), ("x-slow", "1")]);
        var burst = new List<byte>();
        for (var id = 1; id < 2 * 600; id += 2)
        {
            burst.AddRange(RawHttp2Client.Frame(1, EndHeaders | EndStream, id, block));
            burst.AddRange(RawHttp2Client.Frame(3, 0, id, [0, 0, 0, 8]));
        }

        await client.SendAsync([.. burst], token);
        var goAway = await client.ReadUntilAsync(h => h.Type == Http2FrameType.GoAway, token);
        Assert.That(goAway, Is.Not.Null, "the connection closed without GOAWAY");
        Assert.That(ErrorCode(goAway!.Value.Payload, 4), Is.EqualTo((uint)Http2ErrorCode.EnhanceYourCalm));
        Assert.That(Errors(Http2ErrorKind.RapidReset), Is.EqualTo(1));
    }

    [Test]
    public async Task ContinuationFlood_EndsTheConnection()
    {
        var token = Bound();
        await using var client = await RawHttp2Client.ConnectAsync(_lb.EndPoint(), token);
        var frames = new List<byte>();
        frames.AddRange(RawHttp2Client.Frame(1, 0, 1, RawHttp2Client.Block(RawHttp2Client.Get("acme.example.com"))));
        var filler = RawHttp2Client.Block(("x-filler", new string('a', 100)));
        for (var i = 0; i < 100; i++)
        {
            frames.AddRange(RawHttp2Client.Frame(9, 0, 1, filler));
        }

        await client.SendAsync([.. frames], token);
        var goAway = await client.ReadUntilAsync(h => h.Type == Http2FrameType.GoAway, token);
        Assert.That(ErrorCode(goAway!.Value.Payload, 4), Is.EqualTo((uint)Http2ErrorCode.EnhanceYourCalm));
        Assert.That(_backend.Requests, Is.Empty);
        Assert.That(Errors(Http2ErrorKind.ContinuationFlood), Is.EqualTo(1));
    }

    [TestCase(1, 0x4, 2, "even stream id")]
    [TestCase(9, 0x4, 1, "CONTINUATION without HEADERS")]
    [TestCase(8, 0, 0, "WINDOW_UPDATE of 0 on the connection")]
    public async Task ConnectionErrors_AnswerGoAwayProtocolError(int type, byte flags, int streamId, string what)
    {
        var token = Bound();
        await using var client = await RawHttp2Client.ConnectAsync(_lb.EndPoint(), token);
        var payload = type == 8 ? new byte[4] : RawHttp2Client.Block(RawHttp2Client.Get("acme.example.com"));
        await client.SendAsync(RawHttp2Client.Frame(type, flags, streamId, payload), token);
        var goAway = await client.ReadUntilAsync(h => h.Type == Http2FrameType.GoAway, token);
        Assert.That(goAway, Is.Not.Null, what);
        Assert.That(ErrorCode(goAway!.Value.Payload, 4), Is.EqualTo((uint)Http2ErrorCode.ProtocolError), what);
    }

    [Test]
    public async Task DataBeyondTheStreamWindow_WhileHeld_ResetsTheStreamWithFlowControlError()
    {
        // One backend slot, taken by a request the backend never answers: the next stream waits in the queue with no
        // backend connection, so lb holds its DATA and gives no window back. More than 65,535 bytes ignores flow control.
        await using var silent = new SilentBackend();
        await using var lb = await TestLb.StartAsync(TestConfigs.OneTenant(silent.Address, listenerExtra: "http2 = true",
            poolExtra: "max_connections_per_backend = 1\ntimeouts = { queue = \"10s\", response_head = \"10s\" }"));
        var token = Bound();
        await using var client = await RawHttp2Client.ConnectAsync(lb.EndPoint(), token);
        await client.SendAsync(RawHttp2Client.Frame(1, EndHeaders | EndStream, 1, RawHttp2Client.Block(RawHttp2Client.Get("acme.example.com"))), token);
        await client.SendAsync(RawHttp2Client.Frame(1, EndHeaders, 3, RawHttp2Client.Block([(":method", "POST"), (":scheme", "http"), (":path", "/up"), (":authority", "acme.example.com")])), token);
        var chunk = new byte[16384];
        for (var i = 0; i < 5; i++)
        {
            await client.SendAsync(RawHttp2Client.Frame(0, 0, 3, chunk), token);
        }

        var reset = await client.ReadUntilAsync(h => h.StreamId == 3 && h.Type == Http2FrameType.RstStream, token);
        Assert.That(reset, Is.Not.Null);
        Assert.That(ErrorCode(reset!.Value.Payload, 0), Is.EqualTo((uint)Http2ErrorCode.FlowControlError));
        Assert.That(lb.Snapshot.Listeners[0].Http2Errors[Http2ErrorKind.FlowControl], Is.EqualTo(1));
    }

    [Test]
    public async Task Drain_SendsGoAwayNoError_AfterTheLastStreamAndCloses()
    {
        var token = Bound();
        await using var client = await RawHttp2Client.ConnectAsync(_lb.EndPoint(), token);
        await client.SendAsync(RawHttp2Client.Frame(1, EndHeaders | EndStream, 1, RawHttp2Client.Block(RawHttp2Client.Get("acme.example.com"))), token);
        Assert.That(await StatusOfAsync(client, 1, token), Is.EqualTo(200));

        var drained = _lb.Engine.DrainAsync(TimeSpan.FromSeconds(10));
        var goAway = await client.ReadUntilAsync(h => h.Type == Http2FrameType.GoAway, token);
        Assert.That(goAway, Is.Not.Null, "closed without GOAWAY");
        Assert.That(BinaryPrimitives.ReadInt32BigEndian(goAway!.Value.Payload) & 0x7FFF_FFFF, Is.EqualTo(1), "last stream id");
        Assert.That(ErrorCode(goAway.Value.Payload, 4), Is.EqualTo((uint)Http2ErrorCode.NoError));
        // Stream 1 (within the GOAWAY's last stream id) may still finish after it; then the connection closes.
        while (await client.ReadFrameAsync(token) is { } after)
        {
            Assert.That(after.Header.StreamId, Is.EqualTo(1), $"after GOAWAY: {after.Header}");
        }

        await drained.WaitAsync(TimeSpan.FromSeconds(20), token);
    }

    [Test]
    public async Task FrameLargerThanMaxFrameSize_IsAFrameSizeError()
    {
        var token = Bound();
        await using var client = await RawHttp2Client.ConnectAsync(_lb.EndPoint(), token);
        var header = new byte[9];
        Http2FrameWriter.WriteHeader(header, 20000, Http2FrameType.Data, 0, 1);
        await client.SendAsync(header, token);
        var goAway = await client.ReadUntilAsync(h => h.Type == Http2FrameType.GoAway, token);
        Assert.That(ErrorCode(goAway!.Value.Payload, 4), Is.EqualTo((uint)Http2ErrorCode.FrameSizeError));
    }

    [Test]
    public async Task Ping_IsAnsweredWithTheSamePayload()
    {
        var token = Bound();
        await using var client = await RawHttp2Client.ConnectAsync(_lb.EndPoint(), token);
        await client.SendAsync(RawHttp2Client.Frame(6, 0, 0, "lbping!!"u8), token);
        var pong = await client.ReadUntilAsync(h => h.Type == Http2FrameType.Ping, token);
        Assert.That(pong!.Value.Header.Flags, Is.EqualTo(0x1));
        Assert.That(pong.Value.Payload, Is.EqualTo("lbping!!"u8.ToArray()));
    }
}
