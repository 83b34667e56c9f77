using System.Net;
using System.Net.Sockets;
using System.Text;
using LoadBalancer.Core.Admin;
using Microsoft.Extensions.Logging.Abstractions;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>
/// The admin server's request timeout bounds the client (reading the request, taking the answer, idling), never the
/// work: a POST /reload of 100,000 tenants runs past it and must still be answered.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class AdminRequestTimeoutTests
{
    private static readonly TimeSpan ShortTimeout = TimeSpan.FromMilliseconds(300);

    [Test]
    [CancelAfter(20_000)]
    public async Task Reload_RunsPastRequestTimeout_AnsweredWhenDone(CancellationToken cancellationToken)
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var admin = AdminServer.Start(
            new IPEndPoint(IPAddress.Loopback, 0),
            async (request, stop) =>
            {
                entered.TrySetResult();
                await release.Task.WaitAsync(stop);
                return AdminResponse.Text(200, "applied\n");
            },
            token: null,
            NullLogger.Instance,
            ShortTimeout);

        using var client = new HttpClient { BaseAddress = new Uri($"http://{admin.EndPoint}/"), Timeout = TimeSpan.FromSeconds(15) };
        var reload = client.PostAsync("reload", new StringContent("{}", Encoding.ASCII, "application/json"), cancellationToken);
        await entered.Task.WaitAsync(cancellationToken);

        // Proof that the timeout has run out meanwhile: a connection opened after the reload began, that sends
        // nothing, is closed by the same server's read timeout.
        using (var idle = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await idle.ConnectAsync(admin.EndPoint, cancellationToken);
            var buffer = new byte[16];
            var read = await idle.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            Assert.That(read, Is.Zero, "a client that sends no request is still cut by the request timeout");
        }

        Assert.That(reload.IsCompleted, Is.False, "the reload is still running, its connection open");
        release.SetResult();
        using var response = await reload;
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await response.Content.ReadAsStringAsync(cancellationToken), Is.EqualTo("applied\n"));

        // The connection stays usable for the next request, with the clock armed again for reading it.
        using var again = await client.PostAsync("reload", null, cancellationToken);
        Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task PartialRequest_PastRequestTimeout_ConnectionClosed(CancellationToken cancellationToken)
    {
        var handled = 0;
        await using var admin = AdminServer.Start(
            new IPEndPoint(IPAddress.Loopback, 0),
            (request, _) =>
            {
                Interlocked.Increment(ref handled);
                return ValueTask.FromResult(AdminResponse.Text(200, "ok\n"));
            },
            token: null,
            NullLogger.Instance,
            ShortTimeout);

        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(admin.EndPoint, cancellationToken);
        await socket.SendAsync("POST /reload HTTP/1.1\r\nHost: x\r\n"u8.ToArray(), SocketFlags.None, cancellationToken);
        var read = await socket.ReceiveAsync(new byte[64], SocketFlags.None, cancellationToken);
        Assert.That(read, Is.Zero, "a request head that never completes is cut");
        Assert.That(Volatile.Read(ref handled), Is.Zero);
    }
}
