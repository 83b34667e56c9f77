using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd.ResponseSafety;

/// <summary>
/// Rules 3 and 6 of issue 11: a pooled connection that becomes readable while idle (bytes or a close) is discarded,
/// at once with the epoll engine (on the readiness edge) and at the latest when the next request would rent it with
/// .NET's engine, and what it sent is never relayed.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class IdlePooledConnectionTests
{
    [Test]
    [CancelAfter(10_000)]
    public async Task BackendClosesIdleConnection_DiscardedAsBackendClosed_NextRequestsStillAnswered(CancellationToken cancellationToken)
    {
        var script = new DesyncBackend.Script(["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"], TimeSpan.Zero, Dirty: false, CloseAfter: true);
        await using var rig = await ResponseSafetyRig.StartAsync(script);
        await using var client = await rig.Lb.ConnectAsync(cancellationToken);
        await client.SendAsync(ResponseSafetyRig.Get("a.test", "/script"), cancellationToken);
        Assert.That(ResponseSafetyRig.Describe(await client.ReadResponseAsync(cancellationToken)), Is.EqualTo("200 ok"));
        await rig.Backend.ScriptDone.WaitAsync(cancellationToken);

        if (rig.Lb.Engine.Sockets.UsesEpoll)
        {
            // The FIN's edge alone takes the connection out of the pool; no request is needed to notice.
            Assert.That(await rig.WaitForDiscardedAsync(["backend_closed"], 1, cancellationToken), Is.EqualTo(1));
        }

        await ResponseSafetyRig.ExpectFreshAnswerAsync(client, "a.test", "/after-close", cancellationToken);
        await ResponseSafetyRig.ExpectFreshAnswerAsync(client, "b.test", "/after-close", cancellationToken);
        Assert.That(await rig.WaitForDiscardedAsync(["backend_closed"], 1, cancellationToken), Is.EqualTo(1));
        Assert.That(rig.Backend.Connections, Is.EqualTo(2), "one new connection after the close, then reused");
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task UnsolicitedResponseWhileIdle_IsDiscardedWithoutARequest(CancellationToken cancellationToken)
    {
        var script = new DesyncBackend.Script(
            ["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil"], TimeSpan.FromMilliseconds(50), Dirty: true);
        await using var rig = await ResponseSafetyRig.StartAsync(script);
        await using var client = await rig.Lb.ConnectAsync(cancellationToken);
        await client.SendAsync(ResponseSafetyRig.Get("a.test", "/script"), cancellationToken);
        Assert.That(ResponseSafetyRig.Describe(await client.ReadResponseAsync(cancellationToken)), Is.EqualTo("200 ok"));
        await rig.Backend.ScriptDone.WaitAsync(cancellationToken);

        if (rig.Lb.Engine.Sockets.UsesEpoll)
        {
            await rig.Backend.WhenDirtyConnectionsClosedAsync(cancellationToken);
            Assert.That(await rig.WaitForDiscardedAsync(["unsolicited_data"], 1, cancellationToken), Is.EqualTo(1));
        }

        await ResponseSafetyRig.ExpectFreshAnswerAsync(client, "b.test", "/next", cancellationToken);
        await rig.Backend.WhenDirtyConnectionsClosedAsync(cancellationToken);
        Assert.That(rig.Backend.RequestsOnDirtyConnections, Is.Zero);
        Assert.That(await rig.DiscardedAsync(["unsolicited_data"], cancellationToken), Is.EqualTo(1));
    }
}
