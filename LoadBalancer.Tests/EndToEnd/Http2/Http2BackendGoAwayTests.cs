using System.Net;
using System.Net.Sockets;
using LoadBalancer.Core.Http2.Frames;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd.Http2;

/// <summary>
/// A backend's GOAWAY on an h2 pool (RFC 9113 section 6.8): a stream above its last-stream-id was never processed, so a
/// retryable request goes again on a new connection; one that is not retryable is answered 502. Scripted backend: the
/// first connection answers its stream with GOAWAY(last-stream-id 0); later ones answer GETs 200 and a request with a body with GOAWAY.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class Http2BackendGoAwayTests
{
    [Test]
    [CancelAfter(30_000)]
    public async Task GoAwayBeforeTheStream_GetIsRetriedOnANewConnection_PostIs502(CancellationToken cancellationToken)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var connections = 0;
        var serve = Task.Run(async () =>
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var socket = await listener.AcceptSocketAsync(cancellationToken);
                var goAway = Interlocked.Increment(ref connections) == 1;
                _ = ServeAsync(socket, goAway, cancellationToken);
            }
        }, cancellationToken);
        await using var lb = await TestLb.StartAsync($$"""
            [[listeners]]
            name = "web"
            listen = "127.0.0.1:0"

            [[tenants]]
            name = "acme"
            match = ["127.0.0.1"]
            pool = "p"

            [[pools]]
            name = "p"
            protocol = "h2"
            backends = [ { address = "{{listener.LocalEndpoint}}" } ]
            """);
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false });

        using var get = await client.GetAsync($"http://{lb.EndPoint()}/", cancellationToken);
        using var post = await client.PostAsync($"http://{lb.EndPoint()}/", new ByteArrayContent([1, 2, 3]), cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((int)get.StatusCode, Is.EqualTo(200), "refused by GOAWAY, sent again on the second connection");
            Assert.That((int)post.StatusCode, Is.EqualTo(502), "a request with a body is not replayed");
            Assert.That(connections, Is.EqualTo(2), "the GOAWAY connection is not used again");
        }
    }

    /// <summary>SETTINGS, then for each request HEADERS: GOAWAY(0) and close, or a 200 with END_STREAM.</summary>
    private static async Task ServeAsync(Socket socket, bool goAway, CancellationToken cancellationToken)
    {
        using var _ = socket;
        await using var stream = new NetworkStream(socket);
        await stream.WriteAsync(RawHttp2Client.Frame(4, 0, 0, []), cancellationToken);
        var buffer = new byte[64 * 1024];
        var buffered = 0;
        var preface = false;
        while (true)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(buffered), cancellationToken);
            if (read == 0)
            {
                return;
            }

            buffered += read;
            var offset = 0;
            if (!preface)
            {
                if (buffered < 24)
                {
                    continue;
                }

                preface = true;
                offset = 24;
            }

            while (buffered - offset >= 9)
            {
                Http2FrameHeader.TryRead(buffer.AsSpan(offset), out var header);
                if (buffered - offset < 9 + header.Length)
                {
                    break;
                }

                offset += 9 + header.Length;
                if (header.Type == Http2FrameType.Settings && !header.HasFlag(Http2Flags.Ack))
                {
                    await stream.WriteAsync(RawHttp2Client.Frame(4, Http2Flags.Ack, 0, []), cancellationToken);
                }
                else if (header.Type == Http2FrameType.Headers && (goAway || !header.HasFlag(Http2Flags.EndStream)))
                {
                    await stream.WriteAsync(RawHttp2Client.Frame(7, 0, 0, new byte[8]), cancellationToken);
                    return;
                }
                else if (header.Type == Http2FrameType.Headers)
                {
                    await stream.WriteAsync(RawHttp2Client.Frame(1, Http2Flags.EndHeaders | Http2Flags.EndStream, header.StreamId, RawHttp2Client.Block((":status", "200"))), cancellationToken);
                }
            }

            buffer.AsSpan(offset, buffered - offset).CopyTo(buffer);
            buffered -= offset;
        }
    }
}
