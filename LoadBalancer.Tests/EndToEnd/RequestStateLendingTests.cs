using System.Text;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>
/// HTTP/1 connections borrow their per-request state (exchange, head state, upstream, backend deadline) from a cache
/// while a request is in progress and give it back before they wait: a state passes between connections, so nothing of
/// one request may reach the next, and a state whose deadline fired is never lent again.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class RequestStateLendingTests
{
    private static byte[] Answer(RecordedRequest request)
    {
        var head = request.Head;
        if (head.StartsWith("GET /stall ", StringComparison.Ordinal))
        {
            // Promises 100 bytes and sends ten: the backend deadline (body_idle) fires inside this request.
            return Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b");
        }

        var path = head[(head.IndexOf(' ') + 1)..head.IndexOf(" HTTP/", StringComparison.Ordinal)];
        return Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {path.Length}\r\nX-Path: {path}\r\n\r\n{path}");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task ConnectionsTakingTurns_EachResponseIsItsOwn_AlsoAfterADeadlineFired(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start(Answer);
        await using var lb = await TestLb.StartAsync(TestConfigs.OneTenant(backend.Address, "timeouts = { body_idle = \"300ms\" }"));

        await using (var stalled = await lb.ConnectAsync(cancellationToken))
        {
            await stalled.SendAsync("GET /stall HTTP/1.1\r\nHost: acme.example.com\r\n\r\n", cancellationToken);
            Assert.That(async () => await stalled.ReadResponseAsync(cancellationToken), Throws.InstanceOf<IOException>());
        }

        // Connections that each go idle between requests, in turns: every request may get a state another connection
        // used (or the stalled one's, were it lent again), so every answer must be for its own request.
        var connections = new RawHttpConnection[8];
        for (var c = 0; c < connections.Length; c++)
        {
            connections[c] = await lb.ConnectAsync(cancellationToken);
        }

        try
        {
            for (var round = 0; round < 5; round++)
            {
                for (var c = 0; c < connections.Length; c++)
                {
                    var path = $"/c{c}/r{round}";
                    await connections[c].SendAsync($"GET {path} HTTP/1.1\r\nHost: acme.example.com\r\n\r\n", cancellationToken);
                    var response = await connections[c].ReadResponseAsync(cancellationToken);
                    Assert.That((response!.Status, response.Header("X-Path"), response.BodyText), Is.EqualTo((200, path, path)));
                }
            }
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
        }

        var state = lb.Snapshot.Listeners[0].Tenants.Find("acme.example.com"u8)!.State;
        await Eventually.UntilAsync(() => state.TotalRequests == 41 && state.InFlight == 0, cancellationToken);
        Assert.That(state.Requests(2), Is.EqualTo(41), "every answer counted once, the stalled one with its 200 head");
    }
}
