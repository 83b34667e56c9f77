using System.Net;
using System.Net.Sockets;
using System.Text;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>Graceful stop through the real host: what happens to idle, busy and tunnelled connections.</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class DrainTests
{
    [Test]
    [CancelAfter(20_000)]
    public async Task Stop_ClosesIdleAtOnce_FinishesInFlight_CutsTunnelAtDrainTimeout(CancellationToken cancellationToken)
    {
        await using var backend = ScriptedBackend.Start("s1");
        await using var lb = await LbTestHost.StartAsync($$"""
            [server]
            drain_timeout = "2s"

            [admin]
            listen = "127.0.0.1:0"

            [[listeners]]
            name = "web"
            listen = "127.0.0.1:0"
            upgrade_protocols = ["echo"]   # the scripted backend's tunnel protocol; only listed protocols are forwarded

            [[tenants]]
            name = "t"
            match = ["t.test"]
            pool = "p"

            [[pools]]
            name = "p"
            backends = [{ address = "{{backend.Address}}" }]
            """);
        var web = lb.EndPoint();

        // An idle keep-alive connection (it served one request and waits for the next).
        await using var idle = await HttpProbe.ConnectAsync(web, cancellationToken);
        Assert.That((await idle!.GetAsync("t.test", "/", cancellationToken)).Outcome, Is.EqualTo(ProbeOutcome.Ok));

        // A request in flight: the backend holds its answer until the test releases it.
        await using var busy = await HttpProbe.ConnectAsync(web, cancellationToken);
        var busyResponse = busy!.GetAsync("t.test", "/slow", cancellationToken);
        await backend.SlowRequestArrived.WaitAsync(cancellationToken);

        // A tunnel (101 then raw bytes both ways).
        using var tunnel = await OpenTunnelAsync(web, cancellationToken);
        Assert.That(await EchoAsync(tunnel, "before", cancellationToken), Is.EqualTo("before"));

        var stop = lb.StopAsync();

        // Idle: closed at once, while the busy request and the tunnel still run (so not by the drain timeout).
        Assert.That(await idle.WaitForCloseAsync(cancellationToken), Is.True, "idle keep-alive connection closed");
        Assert.That(busyResponse.IsCompleted, Is.False, "in-flight request still running");
        Assert.That(lb.Engine.IsDraining, Is.True);
        Assert.That((await HttpProbe.GetOnceAsync(web, "t.test", "/", cancellationToken)).Outcome, Is.EqualTo(ProbeOutcome.Refused), "no longer accepting");
        var health = await HttpProbe.GetOnceAsync(lb.AdminEndPoint!, "admin", "/healthz", cancellationToken);
        Assert.That(health.Status, Is.EqualTo(503), "/healthz tells upstream health checks that lb is draining");

        // In flight: answered in full, with Connection: close, since lb is going away.
        backend.ReleaseSlow();
        var answered = await busyResponse;
        Assert.That(answered.Outcome, Is.EqualTo(ProbeOutcome.Ok), answered.Detail);
        Assert.That(answered.ConnectionClose, Is.True);

        // Tunnel: still open after the in-flight request finished, cut once drain_timeout passes.
        Assert.That(await EchoAsync(tunnel, "during", cancellationToken), Is.EqualTo("during"));
        Assert.That(await ReadEofAsync(tunnel, cancellationToken), Is.True, "tunnel cut at drain_timeout");
        await stop.WaitAsync(cancellationToken);
        Assert.That(lb.Engine.ActiveConnections, Is.Zero);
    }

    private static async Task<Socket> OpenTunnelAsync(IPEndPoint endPoint, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(endPoint, cancellationToken);
        await socket.SendAsync("GET /ws HTTP/1.1\r\nHost: t.test\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n"u8.ToArray(), cancellationToken);
        var buffer = new byte[1024];
        var length = 0;
        while (buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8) < 0)
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(length), cancellationToken);
            Assert.That(read, Is.Positive, "lb closed the upgrade request");
            length += read;
        }

        Assert.That(Encoding.ASCII.GetString(buffer, 0, length), Does.StartWith("HTTP/1.1 101 "));
        return socket;
    }

    private static async Task<string> EchoAsync(Socket tunnel, string text, CancellationToken cancellationToken)
    {
        await tunnel.SendAsync(Encoding.ASCII.GetBytes(text), cancellationToken);
        var buffer = new byte[text.Length];
        var length = 0;
        while (length < buffer.Length)
        {
            var read = await tunnel.ReceiveAsync(buffer.AsMemory(length), cancellationToken);
            if (read == 0)
            {
                break;
            }

            length += read;
        }

        return Encoding.ASCII.GetString(buffer, 0, length);
    }

    /// <summary>True when the peer closes (EOF or reset); false if it sends bytes instead. Bounded by the test's CancelAfter.</summary>
    private static async Task<bool> ReadEofAsync(Socket socket, CancellationToken cancellationToken)
    {
        try
        {
            return await socket.ReceiveAsync(new byte[1], cancellationToken) == 0;
        }
        catch (SocketException)
        {
            return true;
        }
    }
}
