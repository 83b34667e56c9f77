using System.Net;
using System.Net.Sockets;
using LoadBalancer.Core.Engine;
using LoadBalancer.Core.Transport;

namespace LoadBalancer.Tests.Unit.Transport;

/// <summary>
/// The socket channel on real loopback sockets: readiness, end of stream, timeouts, close and back-pressure. They run
/// on whichever engine the process uses (the epoll loop on Linux x86-64; .NET's with LB_SOCKET_ENGINE=dotnet).
/// </summary>
[TestFixture]
public sealed class SocketChannelTests
{
    private Socket _listener = null!;
    private SocketEngine _engine = null!;

    [SetUp]
    public void SetUp()
    {
        _engine = SocketEngine.FromEnvironment();
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(16);
    }

    [TearDown]
    public void TearDown()
    {
        _listener.Dispose();
        _engine.Dispose();
    }

    private async Task<(SocketChannel Channel, Socket Peer)> AcceptPairAsync(CancellationToken cancellationToken)
    {
        var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var accept = _listener.AcceptAsync(cancellationToken);
        await peer.ConnectAsync(_listener.LocalEndPoint!, cancellationToken);
        return (_engine.Accept(await accept), peer);
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task BytesThenFin_SentTogether_AreReadThenEndOfStream(CancellationToken cancellationToken)
    {
        var (channel, peer) = await AcceptPairAsync(cancellationToken);
        using var _ = channel;
        await peer.SendAsync("hello"u8.ToArray(), SocketFlags.None, cancellationToken);
        peer.Shutdown(SocketShutdown.Send);
        peer.Dispose();

        var buffer = new byte[64];
        var total = 0;
        while (true)
        {
            // A short read must not be taken for "drained" while the FIN is still to be read: this would hang.
            var read = await channel.ReceiveAsync(buffer.AsMemory(total), cancellationToken);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        Assert.That(buffer.AsSpan(0, total).ToArray(), Is.EqualTo("hello"u8.ToArray()));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task ZeroByteWait_CompletesWhenBytesArrive_WithoutConsumingThem(CancellationToken cancellationToken)
    {
        var (channel, peer) = await AcceptPairAsync(cancellationToken);
        using var _ = channel;
        using var __ = peer;
        var wait = channel.ReceiveAsync(Memory<byte>.Empty, cancellationToken);
        await peer.SendAsync("x"u8.ToArray(), SocketFlags.None, cancellationToken);
        Assert.That(await wait, Is.EqualTo(0));

        var buffer = new byte[8];
        Assert.That(await channel.ReceiveAsync(buffer, cancellationToken), Is.EqualTo(1));
        Assert.That(buffer[0], Is.EqualTo((byte)'x'));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task ExpiredTimer_FailsThePendingReceive(CancellationToken cancellationToken)
    {
        var (channel, peer) = await AcceptPairAsync(cancellationToken);
        using var _ = channel;
        using var __ = peer;
        using var timer = _engine.CreateTimer();
        timer.Arm(TimeSpan.FromMilliseconds(100));

        Assert.That(async () => await channel.ReceiveAsync(new byte[16], timer), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(timer.IsCancellationRequested, Is.True);
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task Dispose_FailsThePendingReceive(CancellationToken cancellationToken)
    {
        var (channel, peer) = await AcceptPairAsync(cancellationToken);
        using var __ = peer;
        var pending = channel.ReceiveAsync(new byte[16], cancellationToken).AsTask();
        channel.Dispose();

        Assert.That(async () => await pending, Throws.InstanceOf<SocketException>().Or.InstanceOf<ObjectDisposedException>().Or.InstanceOf<OperationCanceledException>());
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task SendLargerThanSocketBuffers_CompletesOnceThePeerReads(CancellationToken cancellationToken)
    {
        var (channel, peer) = await AcceptPairAsync(cancellationToken);
        using var _ = channel;
        using var __ = peer;
        var data = new byte[16 * 1024 * 1024];
        Random.Shared.NextBytes(data);

        // 16 MiB cannot sit in the kernel's buffers: the send must wait for writability, then go on.
        var send = channel.SendAsync(data, cancellationToken).AsTask();
        var received = new byte[data.Length];
        var total = 0;
        while (total < received.Length)
        {
            total += await peer.ReceiveAsync(received.AsMemory(total), SocketFlags.None, cancellationToken);
        }

        await send;
        Assert.That(received.AsSpan().SequenceEqual(data), Is.True);
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task ConnectToAClosedPort_Fails(CancellationToken cancellationToken)
    {
        var port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        _listener.Dispose();

        Assert.That(async () => await _engine.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancellationToken), Throws.InstanceOf<SocketException>());
    }
}
