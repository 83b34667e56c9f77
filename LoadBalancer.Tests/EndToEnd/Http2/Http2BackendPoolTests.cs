using System.Net;
using System.Net.Sockets;
using System.Text;
using Grpc.Core;
using Grpc.Net.Client;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd.Http2;

/// <summary>
/// Pools with <c>protocol = "h2"</c>: lb speaks HTTP/2 (prior knowledge) to a real HTTP/2 server (Kestrel) and a real
/// gRPC service, from HTTP/2 and HTTP/1.1 clients alike, multiplexing streams on few backend connections within the
/// backend's SETTINGS_MAX_CONCURRENT_STREAMS, with trailers both ways.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class Http2BackendPoolTests
{
    private static string Config(string backend, string poolExtra = "") => $$"""
        [[listeners]]
        name = "web"
        listen = "127.0.0.1:0"
        http2 = true

        [[tenants]]
        name = "acme"
        match = ["127.0.0.1", "localhost"]
        pool = "p"

        [[pools]]
        name = "p"
        protocol = "h2"
        backends = [ { address = "{{backend}}" } ]
        {{poolExtra}}
        """;

    private static HttpClient Client(Version? version = null) => new(new SocketsHttpHandler { UseProxy = false })
    {
        DefaultRequestVersion = version ?? HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
    };

    private static GrpcChannel Channel(TestLb lb) => GrpcChannel.ForAddress($"http://{lb.EndPoint()}", new GrpcChannelOptions
    {
        HttpHandler = new SocketsHttpHandler { UseProxy = false },
    });

    [TestCase("2.0")]
    [TestCase("1.1")]
    [CancelAfter(30_000)]
    public async Task Request_ReachesTheBackendOverHttp2_FromEitherClientProtocol(string clientVersion, CancellationToken cancellationToken)
    {
        await using var backend = await KestrelH2Backend.StartAsync();
        await using var lb = await TestLb.StartAsync(Config(backend.Address));
        using var client = Client(Version.Parse(clientVersion) is var v && v.Major == 2 ? HttpVersion.Version20 : HttpVersion.Version11);

        using var response = await client.GetAsync($"http://{lb.EndPoint()}/hello", cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        using var again = await client.GetAsync($"http://{lb.EndPoint()}/hello", cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((int)response.StatusCode, Is.EqualTo(200));
            Assert.That(response.Version.ToString(2), Is.EqualTo(clientVersion));
            Assert.That(body, Does.StartWith("hello over HTTP/2 to 127.0.0.1:"), "the backend saw HTTP/2 and the client's authority");
            Assert.That((int)again.StatusCode, Is.EqualTo(200));
            Assert.That(backend.Connections.Distinct().Count(), Is.EqualTo(1), "the second request reused the backend connection");
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task ConcurrentStreams_ShareOneConnection_UpToTheBackendsMaxConcurrentStreams(CancellationToken cancellationToken)
    {
        // Kestrel advertises SETTINGS_MAX_CONCURRENT_STREAMS = 2: four held requests need two connections.
        await using var backend = await KestrelH2Backend.StartAsync(maxStreamsPerConnection: 2);
        await using var lb = await TestLb.StartAsync(Config(backend.Address));
        using var client = Client();

        var calls = Enumerable.Range(0, 4).Select(_ => client.GetStringAsync($"http://{lb.EndPoint()}/slow", cancellationToken)).ToArray();
        await Eventually.UntilAsync(() => backend.Connections.Count == 4, cancellationToken);
        backend.Gate.Release(4);
        var bodies = await Task.WhenAll(calls);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(bodies, Is.All.EqualTo("slow done"));
            Assert.That(backend.Connections.Distinct().Count(), Is.EqualTo(2), "two streams per connection, as the backend allows");
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task LargeBodies_BothWays_AreByteIdentical_ThroughFlowControl(CancellationToken cancellationToken)
    {
        await using var backend = await KestrelH2Backend.StartAsync();
        await using var lb = await TestLb.StartAsync(Config(backend.Address));
        using var client = Client();
        var upload = new byte[8 * 1024 * 1024];
        new Random(7).NextBytes(upload);

        using var digest = await client.PostAsync($"http://{lb.EndPoint()}/digest", new ByteArrayContent(upload), cancellationToken);
        var digested = await digest.Content.ReadAsStringAsync(cancellationToken);
        var download = await client.GetByteArrayAsync($"http://{lb.EndPoint()}/big?size=5000000", cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((int)digest.StatusCode, Is.EqualTo(200));
            Assert.That(digested, Is.EqualTo($"{upload.Length}:{Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(upload))}"), "8 MiB up through 64 KiB stream windows, byte-identical");
            Assert.That(download, Has.Length.EqualTo(5_000_000));
            Assert.That(download.Select((b, i) => b == (byte)(i % (16 * 1024) * 7)).All(x => x), Is.True, "5 MB down, byte-identical");
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Trailers_GoBothWays_FromAnHttp2Client(CancellationToken cancellationToken)
    {
        await using var backend = await KestrelH2Backend.StartAsync();
        await using var lb = await TestLb.StartAsync(Config(backend.Address));
        await using var client = await RawHttp2Client.ConnectAsync(lb.EndPoint(), cancellationToken);

        // HEADERS (no END_STREAM), DATA "abc", then the trailers: HEADERS with END_STREAM (RFC 9113 section 8.1).
        var head = RawHttp2Client.Block((":method", "POST"), (":scheme", "http"), (":path", "/trailers"), (":authority", "127.0.0.1"), ("te", "trailers"));
        await client.SendAsync([
            .. RawHttp2Client.Frame(1, 0x4, 1, head),
            .. RawHttp2Client.Frame(0, 0, 1, "abc"u8),
            .. RawHttp2Client.Frame(1, 0x5, 1, RawHttp2Client.Block(("x-sum", "42")))], cancellationToken);

        var body = new List<byte>();
        var blocks = new List<Dictionary<string, string>>();
        while (await client.ReadUntilAsync(h => h.StreamId == 1, cancellationToken) is { } frame)
        {
            if (frame.Header.Type == LoadBalancer.Core.Http2.Frames.Http2FrameType.Data)
            {
                body.AddRange(frame.Payload);
            }
            else if (frame.Header.Type == LoadBalancer.Core.Http2.Frames.Http2FrameType.Headers)
            {
                blocks.Add(Decode(frame.Payload));
            }

            Assert.That(frame.Header.Type, Is.Not.EqualTo(LoadBalancer.Core.Http2.Frames.Http2FrameType.RstStream));
            if ((frame.Header.Flags & 0x1) != 0)
            {
                break;
            }
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(blocks[0][":status"], Is.EqualTo("200"));
            Assert.That(Encoding.ASCII.GetString([.. body]), Is.EqualTo("3 bytes, x-sum=42"), "the request trailer reached the backend");
            Assert.That(blocks, Has.Count.EqualTo(2), "head, then trailers");
            Assert.That(blocks[^1].GetValueOrDefault("x-done"), Is.EqualTo("yes"), "the response trailer reached the client as HEADERS with END_STREAM");
        }
    }

    private static Dictionary<string, string> Decode(byte[] block)
    {
        var decoder = new LoadBalancer.Core.Http2.Hpack.HpackDecoder(4096, 16384, 64);
        var output = new byte[16384];
        var fields = new LoadBalancer.Core.Http2.Hpack.HpackField[64];
        Assert.That(decoder.Decode(block, output, fields, out var count), Is.EqualTo(LoadBalancer.Core.Http2.Hpack.HpackStatus.Ok));
        return fields.Take(count).ToDictionary(f => Encoding.ASCII.GetString(f.Name(output)), f => Encoding.ASCII.GetString(f.Value(output)));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task ChunkedHttp11Request_WithTrailers_ReachesTheHttp2Backend_AndTheResponseIsChunked(CancellationToken cancellationToken)
    {
        await using var backend = await KestrelH2Backend.StartAsync();
        await using var lb = await TestLb.StartAsync(Config(backend.Address));
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(lb.EndPoint(), cancellationToken);
        var request = "POST /trailers HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nTE: trailers\r\n\r\n5\r\nhello\r\n0\r\nX-Sum: 7\r\n\r\n"u8.ToArray();
        await socket.SendAsync(request, cancellationToken);

        var text = new StringBuilder();
        var buffer = new byte[8192];
        while (!text.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal) || !text.ToString().Contains("\r\n0\r\n", StringComparison.Ordinal))
        {
            var read = await socket.ReceiveAsync(buffer, cancellationToken);
            Assert.That(read, Is.Positive, $"lb closed early: {text}");
            text.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        var raw = text.ToString();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(raw, Does.StartWith("HTTP/1.1 200"));
            Assert.That(raw, Does.Contain("transfer-encoding: chunked").IgnoreCase);
            Assert.That(raw, Does.Contain("5 bytes, x-sum=7"));
            Assert.That(raw, Does.Contain("\r\n0\r\nx-done: yes\r\n\r\n"), "the backend's trailer in the last chunk");
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Grpc_UnaryAndServerStreaming_EndToEnd_WithTrailersAndStatus(CancellationToken cancellationToken)
    {
        await using var backend = await KestrelH2Backend.StartAsync();
        await using var lb = await TestLb.StartAsync(Config(backend.Address));
        using var channel = Channel(lb);
        var invoker = channel.CreateCallInvoker();

        using var unary = invoker.AsyncUnaryCall(KestrelH2Backend.Say, null, new CallOptions(cancellationToken: cancellationToken), [1, 2, 3]);
        var echoed = await unary.ResponseAsync;
        var trailers = unary.GetTrailers();

        using var stream = invoker.AsyncServerStreamingCall(KestrelH2Backend.Count, null, new CallOptions(cancellationToken: cancellationToken), [25]);
        var received = new List<byte>();
        while (await stream.ResponseStream.MoveNext(cancellationToken))
        {
            received.Add(stream.ResponseStream.Current[0]);
        }

        var failure = Assert.ThrowsAsync<RpcException>(async () => await invoker.AsyncUnaryCall(KestrelH2Backend.Fail, null, new CallOptions(cancellationToken: cancellationToken), [0]))!;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(echoed, Is.EqualTo(new byte[] { 1, 2, 3 }));
            Assert.That(unary.GetStatus().StatusCode, Is.EqualTo(StatusCode.OK));
            Assert.That(trailers.GetValue("x-echo-length"), Is.EqualTo("3"), "the backend's trailers reached the client");
            Assert.That(received, Is.EqualTo(Enumerable.Range(0, 25).Select(i => (byte)i)), "every streamed message, in order");
            Assert.That(stream.GetStatus().StatusCode, Is.EqualTo(StatusCode.OK));
            Assert.That(failure.StatusCode, Is.EqualTo(StatusCode.NotFound), "the backend's own grpc-status (trailers-only) is relayed");
            Assert.That(failure.Status.Detail, Is.EqualTo("no such thing"));
            Assert.That(backend.Protocols, Is.All.EqualTo("HTTP/2"));
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Grpc_ClientStreaming_EveryMessageArrives_WithTrailersAndStatus(CancellationToken cancellationToken)
    {
        await using var backend = await KestrelH2Backend.StartAsync();
        await using var lb = await TestLb.StartAsync(Config(backend.Address));
        using var channel = Channel(lb);

        // 40 messages of 1 to 3,000 bytes (some span several DATA frames), each byte telling its message apart.
        using var call = channel.CreateCallInvoker().AsyncClientStreamingCall(KestrelH2Backend.Gather, null, new CallOptions(cancellationToken: cancellationToken));
        var sent = new List<byte>();
        for (var i = 0; i < 40; i++)
        {
            var message = Enumerable.Range(0, 1 + (i * 75)).Select(b => (byte)(i + b)).ToArray();
            sent.AddRange(message);
            await call.RequestStream.WriteAsync(message, cancellationToken);
        }

        await call.RequestStream.CompleteAsync();
        var gathered = await call.ResponseAsync;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(gathered, Is.EqualTo(sent.ToArray()), "every message's bytes, in order");
            Assert.That(call.GetStatus().StatusCode, Is.EqualTo(StatusCode.OK));
            Assert.That(call.GetTrailers().GetValue("x-gathered"), Is.EqualTo("40"), "the backend counted every message; its trailers reached the client");
            Assert.That(backend.Protocols, Is.All.EqualTo("HTTP/2"));
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Grpc_BidirectionalStreaming_EachReplyComesBeforeTheNextMessage_WithTrailersAndStatus(CancellationToken cancellationToken)
    {
        await using var backend = await KestrelH2Backend.StartAsync();
        await using var lb = await TestLb.StartAsync(Config(backend.Address));
        using var channel = Channel(lb);

        // Ping-pong: the next message goes only once the previous one's reply is in, so neither direction may wait for
        // the other's end (lb must relay each DATA frame as it comes, both ways, on one stream).
        using var call = channel.CreateCallInvoker().AsyncDuplexStreamingCall(KestrelH2Backend.Chat, null, new CallOptions(cancellationToken: cancellationToken));
        var replies = new List<byte[]>();
        for (var i = 0; i < 30; i++)
        {
            await call.RequestStream.WriteAsync(Enumerable.Range(0, 1 + (i * 50)).Select(b => (byte)(i ^ b)).ToArray(), cancellationToken);
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            wait.CancelAfter(TimeSpan.FromSeconds(10));
            Assert.That(await call.ResponseStream.MoveNext(wait.Token), Is.True, $"reply {i}");
            replies.Add(call.ResponseStream.Current);
        }

        await call.RequestStream.CompleteAsync();
        var more = await call.ResponseStream.MoveNext(cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            for (var i = 0; i < replies.Count; i++)
            {
                Assert.That(replies[i], Is.EqualTo(Enumerable.Range(0, 1 + (i * 50)).Select(b => (byte)(i ^ b)).Reverse().ToArray()), $"reply {i}");
            }

            Assert.That(more, Is.False, "the call ends after the last reply");
            Assert.That(call.GetStatus().StatusCode, Is.EqualTo(StatusCode.OK));
            Assert.That(call.GetTrailers().GetValue("x-chatted"), Is.EqualTo("30"));
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task NoHttp2Backend_IsUnavailable_ForGrpc_And502ForPlainRequests(CancellationToken cancellationToken)
    {
        // An HTTP/1.1 backend behind an h2 pool never sends SETTINGS: a failed connect, never a guess.
        await using var http1 = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(Config(http1.Address, "timeouts = { connect = \"1s\" }"));
        using var channel = Channel(lb);
        using var client = Client();

        var error = Assert.ThrowsAsync<RpcException>(async () => await channel.CreateCallInvoker().AsyncUnaryCall(KestrelH2Backend.Say, null, new CallOptions(cancellationToken: cancellationToken), [1]))!;
        using var plain = await client.GetAsync($"http://{lb.EndPoint()}/hello", cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(error.StatusCode, Is.EqualTo(StatusCode.Unavailable));
            Assert.That(error.Status.Detail, Does.StartWith("backend_unreachable: "));
            Assert.That((int)plain.StatusCode, Is.EqualTo(502));
        }
    }
}
