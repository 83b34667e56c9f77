using System.Net;
using System.Net.Sockets;
using LoadBalancer.Core.Config;
using LoadBalancer.Core.Http2.Frames;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd.Http2;

/// <summary>
/// lb's own GOAWAY to an h2 backend: when a reload removes the backend (or its pool stops speaking h2), or lb drains,
/// each of its HTTP/2 connections gets GOAWAY (NO_ERROR) while its in-flight stream is still open, the stream still
/// finishes, and then lb closes the connection. Scripted backend: it answers only after it has seen the GOAWAY.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class Http2BackendRetireTests
{
    private static string Config(string backend, string protocol = "h2") => $$"""
        [[listeners]]
        name = "web"
        listen = "127.0.0.1:0"

        [[tenants]]
        name = "acme"
        match = ["127.0.0.1"]
        pool = "p"

        [[pools]]
        name = "p"
        protocol = "{{protocol}}"
        backends = [ { address = "{{backend}}" } ]
        """;

    public enum Trigger
    {
        BackendRemoved,
        PoolNoLongerH2,
        Drain,
    }

    [TestCase(Trigger.BackendRemoved)]
    [TestCase(Trigger.PoolNoLongerH2)]
    [TestCase(Trigger.Drain)]
    [CancelAfter(30_000)]
    public async Task Retired_BackendConnection_GetsGoAway_ItsStreamFinishes_ThenItCloses(Trigger trigger, CancellationToken cancellationToken)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var other = new TcpListener(IPAddress.Loopback, 0);
        other.Start();
        var goAwayCode = new TaskCompletionSource<uint>(TaskCreationOptions.RunContinuationsAsynchronously);
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var backend = Task.Run(async () =>
        {
            using var socket = await listener.AcceptSocketAsync(cancellationToken);
            await using var peer = new ScriptedH2Peer(new NetworkStream(socket, ownsSocket: true));
            await peer.ReadPrefaceAsync(cancellationToken);
            await peer.SendAsync(RawHttp2Client.Frame(4, 0, 0, []), cancellationToken);
            var request = await peer.ReadUntilAsync(h => h.Type == Http2FrameType.Headers, cancellationToken);
            var id = request!.Value.Header.StreamId;
            var goAway = await peer.ReadUntilAsync(h => h.Type == Http2FrameType.GoAway, cancellationToken)
                ?? throw new InvalidOperationException("lb closed the connection without GOAWAY");
            goAwayCode.TrySetResult(System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(goAway.Payload.AsSpan(4)));
            await peer.SendAsync(RawHttp2Client.Frame(1, 0x4, id, RawHttp2Client.Block((":status", "200"), ("content-length", "8"))), cancellationToken);
            await peer.SendAsync(RawHttp2Client.Frame(0, 0x1, id, "finished"u8), cancellationToken);
            if (await peer.ReadUntilAsync(_ => false, cancellationToken) is null)
            {
                closed.TrySetResult();
            }
        }, cancellationToken);

        var lb = await TestLb.StartAsync(Config(listener.LocalEndpoint.ToString()!));
        Task? drain = null;
        try
        {
            using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false });
            var response = client.GetStringAsync($"http://{lb.EndPoint()}/slow", cancellationToken);
            await Eventually.UntilAsync(() => lb.Snapshot.Pools["p"].Backends[0].Http2Sessions.Count == 1, cancellationToken);

            switch (trigger)
            {
                case Trigger.BackendRemoved:
                    Assert.That(await lb.Engine.ApplyAsync(ConfigLoader.LoadText(Config(other.LocalEndpoint.ToString()!), "test.toml", lb.Snapshot).Snapshot!), Is.True);
                    break;
                case Trigger.PoolNoLongerH2:
                    Assert.That(await lb.Engine.ApplyAsync(ConfigLoader.LoadText(Config(listener.LocalEndpoint.ToString()!, "http/1.1"), "test.toml", lb.Snapshot).Snapshot!), Is.True);
                    break;
                default:
                    drain = lb.Engine.DrainAsync(TimeSpan.FromSeconds(20));
                    break;
            }

            using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            bound.CancelAfter(TimeSpan.FromSeconds(10));
            var code = await goAwayCode.Task.WaitAsync(bound.Token);
            var body = await response.WaitAsync(bound.Token);
            await closed.Task.WaitAsync(bound.Token);

            using (Assert.EnterMultipleScope())
            {
                Assert.That(code, Is.EqualTo((uint)Http2ErrorCode.NoError));
                Assert.That(body, Is.EqualTo("finished"), "the stream in flight at the GOAWAY finished");
            }

            if (drain is not null)
            {
                await drain.WaitAsync(bound.Token);
            }
        }
        finally
        {
            await lb.DisposeAsync();
        }

        await backend.WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
    }
}
