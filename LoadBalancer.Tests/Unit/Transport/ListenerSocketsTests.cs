using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using LoadBalancer.Core.Engine;
using LoadBalancer.Core.Transport;
using LoadBalancer.Core.Transport.Epoll;

namespace LoadBalancer.Tests.Unit.Transport;

/// <summary>
/// A proxy listener's sockets: on the epoll engine one per loop (SO_REUSEPORT), each accepted on the loop that then
/// serves the connection; on .NET's engine one socket and its accept loop.
/// </summary>
[TestFixture]
public sealed class ListenerSocketsTests
{
    private sealed record Accepted(SocketChannel Channel, EpollLoop? AcceptedOn);

    [Test]
    [CancelAfter(20_000)]
    public async Task Epoll_TwoLoops_EachAcceptsOnItsOwnSocket_AndServesWhatItAccepted(CancellationToken cancellationToken)
    {
        if (!SocketEngine.EpollSupported)
        {
            Assert.Ignore("the epoll engine needs Linux on x86-64");
        }

        using var engine = SocketEngine.Create(SocketEngineKind.Epoll, loops: 2);
        using var listener = ListenerSockets.Bind(engine, new IPEndPoint(IPAddress.Loopback, 0));
        Assert.That(listener.SocketCount, Is.EqualTo(2));
        Assert.That(listener.BoundEndPoint.Port, Is.Not.Zero);

        const int connections = 40;
        var accepted = new BlockingCollection<Accepted>();
        Assert.That(listener.Start(channel => accepted.Add(new Accepted(channel, EpollLoop.CurrentThread))), Is.Null, "loops need no accept task");

        var clients = new List<Socket>();
        try
        {
            for (var i = 0; i < connections; i++)
            {
                var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                clients.Add(client);
                await client.ConnectAsync(listener.BoundEndPoint, cancellationToken);
            }

            var seen = new List<Accepted>();
            for (var i = 0; i < connections; i++)
            {
                Assert.That(accepted.TryTake(out var one, TimeSpan.FromSeconds(10)), Is.True, $"connection {i} accepted");
                seen.Add(one!);
            }

            using (Assert.EnterMultipleScope())
            {
                Assert.That(seen, Has.All.Matches<Accepted>(a => a.AcceptedOn is not null && a.Channel.Loop == a.AcceptedOn), "accepted on its serving loop's thread");
                Assert.That(seen.Select(a => a.AcceptedOn).Distinct().Count(), Is.EqualTo(2), "the kernel spreads 40 connections over both loops' sockets");
                Assert.That(seen.All(a => a.Channel.Socket.NoDelay), Is.True, "TCP_NODELAY inherited from the listening socket");
                Assert.That(seen.Select(a => a.Channel.RemoteEndPoint!.Port).Order(), Is.EqualTo(clients.Select(c => ((IPEndPoint)c.LocalEndPoint!).Port).Order()));
            }

            // The channel works: a byte from the client arrives on the channel.
            await clients[0].SendAsync("x"u8.ToArray(), SocketFlags.None, cancellationToken);
            var target = seen.Single(a => a.Channel.RemoteEndPoint!.Port == ((IPEndPoint)clients[0].LocalEndPoint!).Port).Channel;
            var buffer = new byte[1];
            Assert.That(await target.ReceiveAsync(buffer, cancellationToken), Is.EqualTo(1));
            foreach (var a in seen)
            {
                a.Channel.Dispose();
            }
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Epoll_Disposed_EveryLoopSocketIsClosed(CancellationToken cancellationToken)
    {
        if (!SocketEngine.EpollSupported)
        {
            Assert.Ignore("the epoll engine needs Linux on x86-64");
        }

        using var engine = SocketEngine.Create(SocketEngineKind.Epoll, loops: 2);
        var listener = ListenerSockets.Bind(engine, new IPEndPoint(IPAddress.Loopback, 0));
        Assert.That(listener.Start(channel => channel.Dispose()), Is.Null);
        var endPoint = listener.BoundEndPoint;
        listener.Dispose();

        // Nothing listens any more: on none of the loops' sockets (a connect to any of them would be accepted).
        for (var i = 0; i < 20; i++)
        {
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            var error = Assert.ThrowsAsync<SocketException>(async () => await client.ConnectAsync(endPoint, cancellationToken));
            Assert.That(error!.SocketErrorCode, Is.EqualTo(SocketError.ConnectionRefused));
        }

        // And the port can be bound again without SO_REUSEPORT: no socket of the group is left.
        using var again = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        again.Bind(endPoint);
    }

    [Test]
    public void Epoll_PortTakenWithoutReusePort_BindFails()
    {
        if (!SocketEngine.EpollSupported)
        {
            Assert.Ignore("the epoll engine needs Linux on x86-64");
        }

        using var engine = SocketEngine.Create(SocketEngineKind.Epoll, loops: 2);
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen();
        var error = Assert.Throws<SocketException>(() => ListenerSockets.Bind(engine, (IPEndPoint)taken.LocalEndPoint!));
        Assert.That(error!.SocketErrorCode, Is.EqualTo(SocketError.AddressAlreadyInUse));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Dotnet_OneSocket_AcceptLoopHandsChannelsOver(CancellationToken cancellationToken)
    {
        using var engine = SocketEngine.Create(SocketEngineKind.Dotnet);
        using var listener = ListenerSockets.Bind(engine, new IPEndPoint(IPAddress.Loopback, 0));
        Assert.That(listener.SocketCount, Is.EqualTo(1));
        var accepted = new TaskCompletionSource<SocketChannel>(TaskCreationOptions.RunContinuationsAsynchronously);
        var loop = listener.Start(channel => accepted.TrySetResult(channel));
        Assert.That(loop, Is.Not.Null);

        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.BoundEndPoint, cancellationToken);
        using var channel = await accepted.Task.WaitAsync(cancellationToken);
        Assert.That(channel.Loop, Is.Null);
        listener.Dispose();
        await loop!.WaitAsync(cancellationToken);
    }
}
