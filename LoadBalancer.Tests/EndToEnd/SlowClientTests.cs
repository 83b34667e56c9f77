using System.Net;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>Slowloris and idle connections: bounded by timeouts, and never in the way of other clients.</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class SlowClientTests
{
    private static string Config(string backend, string timeouts)
        => TestConfigs.OneTenant(backend, $"timeouts = {{ {timeouts} }}", "timeouts = { response_head = \"500ms\" }");

    [Test]
    [CancelAfter(20_000)]
    public async Task SlowHead_IsAnswered408_AtTheDeadlineEvenWhileBytesTrickle(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(Config(backend.Address, "request_head = \"400ms\""));
        await using var client = await lb.ConnectAsync(cancellationToken);
        var started = DateTime.UtcNow;
        var head = "GET / HTTP/1.1\r\nHost: acme.example.com\r\nX-Slow: ";
        await client.SendAsync(head, cancellationToken);

        // Keep trickling bytes: request_head is a deadline from the first byte, not an idle timer.
        using var trickle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var trickling = Task.Run(async () =>
        {
            try
            {
                while (!trickle.IsCancellationRequested)
                {
                    await client.SendAsync("a", trickle.Token);
                    await Task.Delay(50, trickle.Token);
                }
            }
            catch (Exception)
            {
                // The connection is closed by lb; the trickle ends there.
            }
        }, cancellationToken);

        var response = await client.ReadResponseAsync(cancellationToken);
        await trickle.CancelAsync();
        await trickling;
        Assert.That(response!.Status, Is.EqualTo(408));
        Assert.That(DateTime.UtcNow - started, Is.LessThan(TimeSpan.FromSeconds(5)));
        Assert.That(backend.Requests, Is.Empty);
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task IdleKeepAliveConnection_IsClosedAfterKeepAliveTimeout(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(Config(backend.Address, "keep_alive = \"300ms\""));
        await using var client = await lb.ConnectAsync(cancellationToken);
        await client.SendAsync("GET / HTTP/1.1\r\nHost: acme.example.com\r\n\r\n", cancellationToken);
        Assert.That((await client.ReadResponseAsync(cancellationToken))!.Status, Is.EqualTo(200));
        Assert.That(await client.IsClosedByPeerAsync(cancellationToken), Is.True);
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task BackendNeverAnswers_Gets504_AfterResponseHeadTimeout(CancellationToken cancellationToken)
    {
        using var silent = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        silent.Listen(16);
        await using var lb = await TestLb.StartAsync(Config($"127.0.0.1:{((IPEndPoint)silent.LocalEndPoint!).Port}", "request_head = \"10s\""));
        await using var client = await lb.ConnectAsync(cancellationToken);
        await client.SendAsync("GET / HTTP/1.1\r\nHost: acme.example.com\r\n\r\n", cancellationToken);
        Assert.That((await client.ReadResponseAsync(cancellationToken))!.Status, Is.EqualTo(504));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ThousandSlowAndIdleConnections_DoNotStopOthers(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(Config(backend.Address, "request_head = \"30s\", keep_alive = \"30s\""));
        var hogs = new List<RawHttpConnection>();
        try
        {
            for (var i = 0; i < 1000; i++)
            {
                var hog = await lb.ConnectAsync(cancellationToken);
                hogs.Add(hog);
                if (i % 2 == 0)
                {
                    await hog.SendAsync("GET / HTTP/1.1\r\nHost: acme.exa", cancellationToken);
                }
            }

            using var http = lb.CreateClient();
            for (var i = 0; i < 50; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, $"/{i}");
                request.Headers.Host = "acme.example.com";
                using var response = await http.SendAsync(request, cancellationToken);
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            }
        }
        finally
        {
            foreach (var hog in hogs)
            {
                await hog.DisposeAsync();
            }
        }
    }
}
