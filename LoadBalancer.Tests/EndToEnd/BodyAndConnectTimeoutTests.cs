using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>The body-idle and backend-connect timeouts, end to end: a stalled peer never holds a connection forever.</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class BodyAndConnectTimeoutTests
{
    private static string Config(string backend, string poolTimeouts = "")
        => TestConfigs.OneTenant(backend, "timeouts = { body_idle = \"300ms\" }", poolTimeouts);

    [Test]
    [CancelAfter(20_000)]
    public async Task ClientStallsInRequestBody_ConnectionClosedAfterBodyIdle(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start(answerBeforeBody: false);
        await using var lb = await TestLb.StartAsync(Config(backend.Address));
        await using var client = await lb.ConnectAsync(cancellationToken);
        var watch = Stopwatch.StartNew();
        await client.SendAsync("POST / HTTP/1.1\r\nHost: acme.example.com\r\nContent-Length: 10\r\n\r\nabc", cancellationToken);
        var response = await client.ReadResponseAsync(cancellationToken);
        Assert.That(response!.Status, Is.EqualTo(408));
        Assert.That(await client.IsClosedByPeerAsync(cancellationToken), Is.True);
        Assert.That(watch.Elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(250)).And.LessThan(TimeSpan.FromSeconds(10)));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task BackendStallsInResponseBody_ClientConnectionClosedAfterBodyIdle(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start(_ => Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b"));
        await using var lb = await TestLb.StartAsync(Config(backend.Address));
        await using var client = await lb.ConnectAsync(cancellationToken);
        var watch = Stopwatch.StartNew();
        await client.SendAsync("GET / HTTP/1.1\r\nHost: acme.example.com\r\n\r\n", cancellationToken);
        Assert.That(async () => await client.ReadResponseAsync(cancellationToken), Throws.InstanceOf<IOException>());
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task BackendNeverCompletesConnect_Gets502AfterConnectTimeout(CancellationToken cancellationToken)
    {
        // A listener that never accepts, with its accept queue filled: further SYNs are dropped, so connects hang.
        using var blackhole = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        blackhole.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        blackhole.Listen(0);
        var endPoint = (IPEndPoint)blackhole.LocalEndPoint!;
        var fillers = new List<Socket>();
        try
        {
            for (var i = 0; i < 8; i++)
            {
                var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                fillers.Add(filler);
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                attempt.CancelAfter(200);
                try
                {
                    await filler.ConnectAsync(endPoint, attempt.Token);
                }
                catch (OperationCanceledException)
                {
                    break; // the queue is full: this is the state the test needs
                }
            }

            await using var lb = await TestLb.StartAsync(Config($"127.0.0.1:{endPoint.Port}", "timeouts = { connect = \"300ms\" }"));
            await using var client = await lb.ConnectAsync(cancellationToken);
            var watch = Stopwatch.StartNew();
            await client.SendAsync("GET / HTTP/1.1\r\nHost: acme.example.com\r\n\r\n", cancellationToken);
            var response = await client.ReadResponseAsync(cancellationToken);
            Assert.That(response!.Status, Is.EqualTo(502));
            Assert.That(watch.Elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(250)).And.LessThan(TimeSpan.FromSeconds(10)));
        }
        finally
        {
            foreach (var filler in fillers)
            {
                filler.Dispose();
            }
        }
    }
}
