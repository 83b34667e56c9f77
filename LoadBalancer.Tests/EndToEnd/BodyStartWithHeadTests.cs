using System.Text;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>
/// The body bytes read with a response head go to the client in the head's send: all of a small body, the first read's
/// share of a large one, whose rest follows from the backend reader. The client gets every byte once and in order,
/// and the tenant's bytes out count head and body exactly once.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class BodyStartWithHeadTests
{
    [TestCase(10)]
    [TestCase(3_000)]
    [TestCase(12_000)]
    [TestCase(40_000)]
    [TestCase(300_000)]
    [CancelAfter(20_000)]
    public async Task ContentLengthBody_ArrivesWhole_AndBytesOutCountedOnce(int size, CancellationToken cancellationToken)
    {
        var body = new byte[size];
        new Random(size).NextBytes(body);
        var head = Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n");
        await using var backend = RecordingBackend.Start(_ => [.. head, .. body]);
        await using var lb = await TestLb.StartAsync(TestConfigs.OneTenant(backend.Address));
        await using var connection = await lb.ConnectAsync(cancellationToken);

        for (var i = 0; i < 3; i++)
        {
            await connection.SendAsync("GET /big HTTP/1.1\r\nHost: acme.example.com\r\n\r\n", cancellationToken);
            var response = await connection.ReadResponseAsync(cancellationToken);
            Assert.That(response!.Status, Is.EqualTo(200));
            Assert.That(response.Body, Is.EqualTo(body), "request " + i);
        }

        var state = lb.Snapshot.Listeners[0].Tenants.Find("acme.example.com"u8)!.State;
        await Eventually.UntilAsync(() => state.TotalRequests == 3 && state.InFlight == 0, cancellationToken);

        // lb's head is the backend's with nothing removed from it here; the body is counted as relayed.
        Assert.That(state.BytesSent % 3, Is.Zero);
        Assert.That(state.BytesSent / 3 - size, Is.InRange(head.Length, head.Length + 64), "one response's head plus its body, counted once");
    }
}
