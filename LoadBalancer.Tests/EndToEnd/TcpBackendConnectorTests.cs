using System.Net;
using System.Net.Sockets;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>
/// L4 picks and connects backends by the rules of L7 (issue 18): the client address hashed the same way (an
/// IPv4-mapped address as IPv4), and <c>max_connections_per_backend</c> counted per tunnel.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class TcpBackendConnectorTests
{
    private static readonly string[] Names = ["b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8"];

    [Test]
    [CancelAfter(30_000)]
    public async Task SameClient_ThroughDualStackL4AndIPv4L7_PicksTheSameBackend(CancellationToken cancellationToken)
    {
        if (!Socket.OSSupportsIPv6)
        {
            Assert.Ignore("no IPv6 stack: a dual-stack listener cannot be bound here");
        }

        await using var backends = TestBackends.Start(Names);
        var list = string.Join(", ", Names.Select(n => $$"""{ address = "{{backends.Address(n)}}" }"""));
        await using var lb = await TestLb.StartAsync($$"""
            [[listeners]]
            name = "web"
            listen = "127.0.0.1:0"

            [[listeners]]
            name = "l4"
            listen = "[::]:0"
            protocol = "tcp"
            default_tenant = "t"

            [[tenants]]
            name = "t"
            match = ["t.test"]
            pool = "p"

            [[pools]]
            name = "p"
            balancer = "weighted-hash"
            backends = [ {{list}} ]
            """);
        var web = lb.EndPoint("web");
        var l4 = new IPEndPoint(IPAddress.Loopback, lb.EndPoint("l4").Port);

        // Eight client addresses: a shared hash function gives equal picks for all of them; two different keys (the
        // mapped "::ffff:127.0.0.N" against "127.0.0.N") would agree on all eight by chance with probability 8^-8.
        for (var n = 2; n < 10; n++)
        {
            var client = IPAddress.Parse($"127.0.0.{n}");
            var viaL7 = await BackendSeenFromAsync(client, web, cancellationToken);
            var viaL4 = await BackendSeenFromAsync(client, l4, cancellationToken);
            Assert.That(viaL4, Is.EqualTo(viaL7), $"client {client}: L4 and L7 picked different backends");
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task TcpPool_MaxConnectionsPerBackend_FullBackendIsSkipped_AllFullIsRefused(CancellationToken cancellationToken)
    {
        await using var backends = TestBackends.Start("x", "y");
        await using var lb = await TestLb.StartAsync($$"""
            [[listeners]]
            name = "l4"
            listen = "127.0.0.1:0"
            protocol = "tcp"
            default_tenant = "t"

            [[tenants]]
            name = "t"
            match = ["unused.test"]
            pool = "p"
            listeners = []

            [[pools]]
            name = "p"
            balancer = "weighted-hash"
            max_connections_per_backend = 1
            backends = [ { address = "{{backends.Address("x")}}" }, { address = "{{backends.Address("y")}}" } ]
            """);

        // One client address, so the hash sends every tunnel to the same backend first.
        await using var first = await OpenTunnelAsync(lb, cancellationToken);
        var firstBackend = await AskAsync(first, cancellationToken);
        await using var second = await OpenTunnelAsync(lb, cancellationToken);
        var secondBackend = await AskAsync(second, cancellationToken);
        Assert.That(secondBackend, Is.Not.EqualTo(firstBackend), "the hashed backend holds its one tunnel: the next goes to the other");

        await using var third = await OpenTunnelAsync(lb, cancellationToken);
        await third.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n", cancellationToken);
        Assert.That(await third.IsClosedByPeerAsync(cancellationToken), Is.True, "every backend at its cap: the tunnel is refused");
        Assert.That(lb.Snapshot.Pools["p"].Backends.Select(b => b.InFlight), Is.EqualTo(new[] { 1, 1 }));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task TcpPool_AllBackendsFull_TunnelQueuesAndGetsTheFreedSlot(CancellationToken cancellationToken)
    {
        // One connector for L4 and L7: a tunnel at a full pool waits up to timeouts.queue for a slot, as a request does
        // (and as HAProxy's maxconn queue does in tcp mode), instead of being refused at once.
        await using var backends = TestBackends.Start("x", "y");
        await using var lb = await TestLb.StartAsync($$"""
            [[listeners]]
            name = "l4"
            listen = "127.0.0.1:0"
            protocol = "tcp"
            default_tenant = "t"

            [[tenants]]
            name = "t"
            match = ["unused.test"]
            pool = "p"
            listeners = []

            [[pools]]
            name = "p"
            max_connections_per_backend = 1
            timeouts = { queue = "20s" }
            backends = [ { address = "{{backends.Address("x")}}" }, { address = "{{backends.Address("y")}}" } ]
            """);
        var first = await OpenTunnelAsync(lb, cancellationToken);
        var firstBackend = await AskAsync(first, cancellationToken);
        await using var second = await OpenTunnelAsync(lb, cancellationToken);
        await AskAsync(second, cancellationToken);

        await using var third = await OpenTunnelAsync(lb, cancellationToken);
        await third.SendAsync("GET / HTTP/1.1\r\nHost: t.test\r\n\r\n", cancellationToken);
        var slots = lb.Snapshot.Pools["p"].Slots;
        while (slots.Waiters == 0)
        {
            await Task.Delay(10, cancellationToken);
        }

        await first.DisposeAsync(); // its tunnel ends, and its slot goes to the waiting one
        var response = await third.ReadResponseAsync(cancellationToken);
        Assert.That(response!.Header("X-Backend"), Is.EqualTo(firstBackend));
    }

    private static Task<RawHttpConnection> OpenTunnelAsync(TestLb lb, CancellationToken cancellationToken)
        => lb.ConnectAsync(cancellationToken, "l4");

    private static async Task<string> AskAsync(RawHttpConnection tunnel, CancellationToken cancellationToken)
    {
        await tunnel.SendAsync("GET / HTTP/1.1\r\nHost: t.test\r\n\r\n", cancellationToken);
        var response = await tunnel.ReadResponseAsync(cancellationToken);
        return response!.Header("X-Backend")!;
    }

    private static async Task<string> BackendSeenFromAsync(IPAddress client, IPEndPoint target, CancellationToken cancellationToken)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(client, 0));
        await socket.ConnectAsync(target, cancellationToken);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        await stream.WriteAsync("GET / HTTP/1.1\r\nHost: t.test\r\nConnection: close\r\n\r\n"u8.ToArray(), cancellationToken);
        using var reader = new StreamReader(stream);
        var text = await reader.ReadToEndAsync(cancellationToken);
        var line = text.Split("\r\n").First(l => l.StartsWith("X-Backend:", StringComparison.OrdinalIgnoreCase));
        return line["X-Backend:".Length..].Trim();
    }
}
