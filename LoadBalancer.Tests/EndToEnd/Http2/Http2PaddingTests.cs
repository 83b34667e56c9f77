using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using LoadBalancer.Core.Http2.Frames;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd.Http2;

/// <summary>
/// Padded DATA (RFC 9113 section 6.1): the padding and its length byte take flow-control window like content, and
/// the receiver must give that window back even though it has nothing to forward. Both sides of lb: a scripted client
/// sending padded DATA to lb (to an HTTP/1.1 pool, and to an h2 pool whose window comes back only as content reaches
/// the backend), and a scripted h2 backend sending padded DATA to lb. Each sender honours the window it is given and
/// sends several windows' worth, so a receiver that kept the padding's window would stall it.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class Http2PaddingTests
{
    private const byte EndStream = 0x1;
    private const byte EndHeaders = 0x4;
    private const byte Padded = 0x8;
    private const int Window = 65_535;

    private static string Config(string backend, string protocol) => $$"""
        [[listeners]]
        name = "web"
        listen = "127.0.0.1:0"
        http2 = true

        [[tenants]]
        name = "acme"
        match = ["127.0.0.1", "acme.example.com"]
        pool = "p"

        [[pools]]
        name = "p"
        protocol = "{{protocol}}"
        backends = [ { address = "{{backend}}" } ]
        """;

    /// <summary>A DATA frame of 256 bytes of window: 64 content bytes then 191 of padding, or padding only.</summary>
    private static byte[] PaddedData(int streamId, int i, bool paddingOnly, IncrementalHash digest, ref long content)
    {
        var size = paddingOnly ? 0 : 64;
        var payload = new byte[256];
        payload[0] = (byte)(255 - size);
        for (var b = 0; b < size; b++)
        {
            payload[1 + b] = (byte)(i + b);
        }

        digest.AppendData(payload, 1, size);
        content += size;
        return RawHttp2Client.Frame(0, Padded, streamId, payload);
    }

    [TestCase("http/1.1")]
    [TestCase("h2")]
    [CancelAfter(30_000)]
    public async Task ClientPaddedData_ItsWholeWindowComesBack_AndTheBodyArrivesWhole(string protocol, CancellationToken cancellationToken)
    {
        await using var kestrel = protocol == "h2" ? await KestrelH2Backend.StartAsync() : null;
        await using var recording = protocol == "h2" ? null : RecordingBackend.Start(r => RecordingBackend.Ok($"{r.BodyBytes.Length}:{Convert.ToHexString(SHA256.HashData(r.BodyBytes))}"));
        await using var lb = await TestLb.StartAsync(Config(kestrel?.Address ?? recording!.Address, protocol));
        await using var client = await RawHttp2Client.ConnectAsync(lb.EndPoint(), cancellationToken);
        // A content-length, so the HTTP/1.1 backend sees the body as sent (no chunk framing to take off).
        const int Frames = 3 * Window / 256;
        var length = (Frames - (Frames / 3)) * 64;
        await client.SendAsync(RawHttp2Client.Frame(1, EndHeaders, 1, RawHttp2Client.Block((":method", "POST"), (":scheme", "http"), (":path", "/digest"), (":authority", "acme.example.com"), ("content-length", $"{length}"))), cancellationToken);

        // lb's SETTINGS give the stream 65,535 bytes; the connection's window is raised past that at once.
        long streamCredit = Window, connectionCredit = Window, granted = 0, sent = 0, content = 0;
        using var digest = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (var i = 0; i < Frames; i++)
        {
            while (streamCredit < 256 || connectionCredit < 256)
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                wait.CancelAfter(TimeSpan.FromSeconds(5));
                (Http2FrameHeader Header, byte[] Payload)? frame = null;
                try
                {
                    frame = await client.ReadUntilAsync(h => h.Type is Http2FrameType.WindowUpdate or Http2FrameType.RstStream or Http2FrameType.GoAway, wait.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    // No WINDOW_UPDATE within 5 s: the assertion below names the stall.
                }

                Assert.That(frame?.Header.Type, Is.EqualTo(Http2FrameType.WindowUpdate), $"stalled after {sent} bytes of padded DATA ({granted} given back)");
                var increment = BinaryPrimitives.ReadInt32BigEndian(frame!.Value.Payload) & 0x7FFF_FFFF;
                if (frame.Value.Header.StreamId == 0)
                {
                    connectionCredit += increment;
                }
                else
                {
                    streamCredit += increment;
                    granted += increment;
                }
            }

            await client.SendAsync(PaddedData(1, i, paddingOnly: i % 3 == 2, digest, ref content), cancellationToken);
            streamCredit -= 256;
            connectionCredit -= 256;
            sent += 256;
        }

        await client.SendAsync(RawHttp2Client.Frame(0, EndStream, 1, []), cancellationToken);
        Assert.That(await client.StatusAsync(1, cancellationToken), Is.EqualTo(200));
        var body = new StringBuilder();
        while (await client.ReadUntilAsync(h => h.StreamId == 1 && h.Type is Http2FrameType.Data or Http2FrameType.Headers, cancellationToken) is { } data)
        {
            if (data.Header.Type == Http2FrameType.Data)
            {
                body.Append(Encoding.ASCII.GetString(data.Payload));
            }

            if (data.Header.HasFlag(Http2Flags.EndStream))
            {
                break;
            }
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(granted, Is.GreaterThanOrEqualTo(sent - Window), "all but at most one window of the padded DATA came back");
            Assert.That(body.ToString(), Is.EqualTo($"{content}:{Convert.ToHexString(digest.GetHashAndReset())}"), "the content, without its padding, reached the backend");
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task BackendPaddedData_ItsWholeWindowComesBack_AndTheClientGetsTheContent(CancellationToken cancellationToken)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        const int Frames = 3 * Window / 256;
        long expected = 0;
        using var digest = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var backend = Task.Run(async () =>
        {
            using var socket = await listener.AcceptSocketAsync(cancellationToken);
            await using var peer = new ScriptedH2Peer(new NetworkStream(socket, ownsSocket: true));
            await peer.ReadPrefaceAsync(cancellationToken);
            await peer.SendAsync(RawHttp2Client.Frame(4, 0, 0, []), cancellationToken);
            var request = await peer.ReadUntilAsync(h => h.Type == Http2FrameType.Headers, cancellationToken);
            var id = request!.Value.Header.StreamId;
            await peer.SendAsync(RawHttp2Client.Frame(1, EndHeaders, id, RawHttp2Client.Block((":status", "200"))), cancellationToken);

            // lb grants each backend stream 65,535 bytes (its SETTINGS) and the connection 16 MiB.
            long credit = Window;
            for (var i = 0; i < Frames; i++)
            {
                while (credit < 256)
                {
                    using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    wait.CancelAfter(TimeSpan.FromSeconds(5));
                    var frame = await peer.ReadUntilAsync(h => h.Type == Http2FrameType.WindowUpdate && h.StreamId == id, wait.Token)
                        ?? throw new InvalidOperationException("lb closed the connection");
                    credit += BinaryPrimitives.ReadInt32BigEndian(frame.Payload) & 0x7FFF_FFFF;
                }

                // A window and more of padding only first: nothing for lb to relay, and still the window must come back.
                await peer.SendAsync(PaddedData(id, i, paddingOnly: i < (Window / 256) + 8, digest, ref expected), cancellationToken);
                credit -= 256;
            }

            await peer.SendAsync(RawHttp2Client.Frame(0, EndStream, id, []), cancellationToken);
        }, cancellationToken);
        byte[] body;
        await using (var lb = await TestLb.StartAsync(Config(listener.LocalEndpoint.ToString()!, "h2")))
        {
            using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false });
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            wait.CancelAfter(TimeSpan.FromSeconds(15));
            body = await client.GetByteArrayAsync($"http://{lb.EndPoint()}/padded", wait.Token);
        }

        await backend.WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(body, Has.Length.EqualTo(expected), "every content byte, no padding");
            Assert.That(Convert.ToHexString(SHA256.HashData(body)), Is.EqualTo(Convert.ToHexString(digest.GetHashAndReset())));
        }
    }
}
