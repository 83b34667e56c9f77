using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using LoadBalancer.Core.Engine;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Transport;
using LoadBalancer.Core.Transport.Epoll;

namespace LoadBalancer.Tests.Unit.Transport;

/// <summary>
/// Idle backend connections are kept per loop: a connection idles in the shard of the loop its socket is registered
/// with, and a request on a loop rents only from that loop's shard. Real loopback sockets on a two-loop engine; code
/// runs on a given loop's thread by being the accept handler of a listener on that engine.
/// </summary>
[TestFixture]
public sealed class BackendConnectionPoolTests
{
    private sealed record Rented(EpollLoop OnLoop, BackendConnection? Connection);

    [Test]
    [CancelAfter(20_000)]
    public async Task Rent_OnALoop_TakesOnlyThatLoopsConnections_OffLoopTakesAny(CancellationToken cancellationToken)
    {
        if (!SocketEngine.EpollSupported)
        {
            Assert.Ignore("the epoll engine needs Linux on x86-64");
        }

        using var engine = SocketEngine.Create(SocketEngineKind.Epoll, loops: 2);
        using var backendListener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        backendListener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        backendListener.Listen(64);
        var backendEndPoint = (IPEndPoint)backendListener.LocalEndPoint!;
        var state = new BackendState(new Backend(backendEndPoint.ToString(), backendEndPoint, 1));
        var pool = state.IdleConnections;

        // Two idle connections on each loop, returned from this (non-loop) thread: each goes to its socket's loop.
        var accepted = new List<Socket>();
        try
        {
            foreach (var loop in engine.Loops)
            {
                for (var i = 0; i < 2; i++)
                {
                    var channel = await SocketChannel.ConnectAsync(loop, backendEndPoint, cancellationToken);
                    accepted.Add(await backendListener.AcceptAsync(cancellationToken));
                    pool.Return(new BackendConnection(state, channel));
                }
            }

            Assert.That(pool.IdleCount, Is.EqualTo(4));

            // Rents on loop threads, until each loop rented three times: two hits, then nothing although the other
            // loop may still have idle connections.
            var rents = new ConcurrentQueue<Rented>();
            var perLoop = new int[2];
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using var listener = ListenerSockets.Bind(engine, new IPEndPoint(IPAddress.Loopback, 0));
            var acceptTask = listener.Start(channel =>
            {
                var loop = EpollLoop.CurrentThread!;
                if (Interlocked.Increment(ref perLoop[loop.Index]) <= 3)
                {
                    rents.Enqueue(new Rented(loop, pool.Rent(maxIdleMs: 60_000, probe: false)));
                }

                if (Volatile.Read(ref perLoop[0]) >= 3 && Volatile.Read(ref perLoop[1]) >= 3)
                {
                    done.TrySetResult();
                }

                channel.Dispose();
            });
            Assert.That(acceptTask, Is.Null);

            var clients = new List<Socket>();
            while (!done.Task.IsCompleted && clients.Count < 500)
            {
                var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                clients.Add(client);
                await client.ConnectAsync(listener.BoundEndPoint, cancellationToken);
            }

            await done.Task.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken);
            foreach (var client in clients)
            {
                client.Dispose();
            }

            var all = rents.ToArray();
            using (Assert.EnterMultipleScope())
            {
                foreach (var loop in engine.Loops)
                {
                    var mine = all.Where(r => r.OnLoop == loop).ToArray();
                    Assert.That(mine, Has.Length.EqualTo(3));
                    Assert.That(mine.Take(2).Select(r => r.Connection?.Channel.Loop), Has.All.SameAs(loop), $"loop {loop.Index} rents its own");
                    Assert.That(mine[2].Connection, Is.Null, $"loop {loop.Index} never rents the other loop's");
                }

                Assert.That(pool.IdleCount, Is.Zero);
            }

            // Returned from the test thread again, and rented off every loop: any shard will do.
            var back = all[0].Connection!;
            pool.Return(back);
            Assert.That(pool.Rent(60_000, probe: false), Is.SameAs(back));
            foreach (var rent in all)
            {
                rent.Connection?.Dispose();
            }
        }
        finally
        {
            foreach (var socket in accepted)
            {
                socket.Dispose();
            }
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Return_ShardFull_Discards_SweepAndCloseIdleReachEveryShard(CancellationToken cancellationToken)
    {
        using var engine = SocketEngine.FromEnvironment();
        using var backendListener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        backendListener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        backendListener.Listen(256);
        var backendEndPoint = (IPEndPoint)backendListener.LocalEndPoint!;
        var state = new BackendState(new Backend(backendEndPoint.ToString(), backendEndPoint, 1));
        var pool = state.IdleConnections;
        var loops = engine.UsesEpoll ? engine.Loops : [null!];
        var accepted = new List<Socket>();
        try
        {
            foreach (var loop in loops)
            {
                for (var i = 0; i <= BackendConnectionPool.SlotsPerLoop; i++)
                {
                    var channel = await SocketChannel.ConnectAsync(loop, backendEndPoint, cancellationToken);
                    accepted.Add(await backendListener.AcceptAsync(cancellationToken));
                    pool.Return(new BackendConnection(state, channel));
                }
            }

            Assert.That(pool.IdleCount, Is.EqualTo(loops.Length * BackendConnectionPool.SlotsPerLoop), "each loop keeps at most its slots");
            Assert.That(state.Discarded((int)DiscardReason.Expired), Is.EqualTo(loops.Length), "one too many per loop");

            // The backend closes the first connection of the first shard and the last kept one of the last shard (the
            // one after it was discarded): the sweep (or, on epoll, the idle watcher) finds both, whichever loop.
            accepted[0].Dispose();
            accepted[^2].Dispose();
            await WaitUntilAsync(() => { pool.Sweep(60_000); return pool.IdleCount == (loops.Length * BackendConnectionPool.SlotsPerLoop) - 2; }, cancellationToken);

            pool.CloseIdle(0);
            Assert.That(pool.IdleCount, Is.Zero);
        }
        finally
        {
            foreach (var socket in accepted)
            {
                socket.Dispose();
            }
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, CancellationToken cancellationToken)
    {
        while (!condition())
        {
            await Task.Delay(10, cancellationToken);
        }
    }
}
