using System.Net;
using System.Net.Sockets;

namespace LoadBalancer.Tests.TestSupport;

/// <summary>A plain TCP server that sends back every byte it gets; with closeAfterBytes it closes once it echoed that many.</summary>
public sealed class TcpEchoBackend : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly int? _closeAfterBytes;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _serving = [];
    private readonly Task _loop;
    private int _connections;

    private TcpEchoBackend(int? closeAfterBytes)
    {
        _closeAfterBytes = closeAfterBytes;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(16);
        _loop = AcceptLoopAsync();
    }

    public static TcpEchoBackend Start(int? closeAfterBytes = null) => new(closeAfterBytes);

    public string Address => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndPoint!).Port}";

    public int Connections => Volatile.Read(ref _connections);

    public System.Collections.Concurrent.ConcurrentQueue<byte> Received { get; } = new();

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (true)
            {
                var socket = await _listener.AcceptAsync(_stop.Token);
                Interlocked.Increment(ref _connections);
                lock (_serving)
                {
                    _serving.Add(ServeAsync(socket));
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        using var _ = socket;
        var buffer = new byte[64 * 1024];
        var total = 0;
        try
        {
            while (true)
            {
                var read = await socket.ReceiveAsync(buffer, _stop.Token);
                if (read == 0)
                {
                    socket.Shutdown(SocketShutdown.Send);
                    return;
                }

                foreach (var b in buffer.AsSpan(0, read))
                {
                    Received.Enqueue(b);
                }

                await socket.SendAsync(buffer.AsMemory(0, read), _stop.Token);
                total += read;
                if (total >= _closeAfterBytes)
                {
                    socket.Shutdown(SocketShutdown.Both);
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _loop;
        Task[] serving;
        lock (_serving)
        {
            serving = [.. _serving];
        }

        await Task.WhenAll(serving);
        _stop.Dispose();
    }
}
