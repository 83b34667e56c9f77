using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LoadBalancer.Tests.TestSupport;

/// <summary>
/// A backend whose timing the test controls, for drain and pooled-connection tests. <c>GET /slow</c> is answered only
/// after <see cref="ReleaseSlow"/>; a request with an <c>Upgrade</c> header gets 101 and then an echo tunnel; anything
/// else gets 200 at once. Each connection lb closes is counted, so a test can await "lb closed its connection to me".
/// </summary>
public sealed class ScriptedBackend : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly Task _acceptLoop;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _slowArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _slowRelease = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _closedByPeer = new(0);
    private readonly List<Task> _connections = [];
    private int _accepted;

    private ScriptedBackend(string name)
    {
        Name = name;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(128);
        _acceptLoop = AcceptLoopAsync();
    }

    public string Name { get; }

    /// <summary>"127.0.0.1:PORT", for lb.toml.</summary>
    public string Address => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndPoint!).Port}";

    /// <summary>Connections accepted so far (lb's pooled connections show up as fewer accepts than requests).</summary>
    public int Accepted => Volatile.Read(ref _accepted);

    /// <summary>Completes when the first <c>/slow</c> request has arrived: it is in flight in lb from then on.</summary>
    public Task SlowRequestArrived => _slowArrived.Task;

    public static ScriptedBackend Start(string name) => new(name);

    public void ReleaseSlow() => _slowRelease.TrySetResult();

    /// <summary>Waits until lb has closed <paramref name="count"/> more connections to this backend (EOF seen here).</summary>
    public async Task WaitForClosedByPeerAsync(int count, CancellationToken cancellationToken)
    {
        for (var i = 0; i < count; i++)
        {
            await _closedByPeer.WaitAsync(cancellationToken);
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            Interlocked.Increment(ref _accepted);
            lock (_connections)
            {
                _connections.Add(ServeAsync(socket));
            }
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        var buffer = new byte[8192];
        var length = 0;
        try
        {
            while (true)
            {
                var headEnd = buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8);
                if (headEnd < 0)
                {
                    var read = await socket.ReceiveAsync(buffer.AsMemory(length), _stop.Token);
                    if (read == 0)
                    {
                        _closedByPeer.Release();
                        return;
                    }

                    length += read;
                    continue;
                }

                var head = Encoding.ASCII.GetString(buffer, 0, headEnd);
                var consumed = headEnd + 4;
                Buffer.BlockCopy(buffer, consumed, buffer, 0, length - consumed);
                length -= consumed;

                if (head.Contains("\r\nUpgrade:", StringComparison.OrdinalIgnoreCase))
                {
                    await socket.SendAsync("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n"u8.ToArray(), _stop.Token);
                    await EchoAsync(socket, buffer, length);
                    return;
                }

                if (head.StartsWith("GET /slow ", StringComparison.Ordinal))
                {
                    _slowArrived.TrySetResult();
                    await _slowRelease.Task.WaitAsync(_stop.Token);
                }

                var body = $"{Name}\n";
                await socket.SendAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nX-Backend: {Name}\r\nContent-Length: {body.Length}\r\n\r\n{body}"), _stop.Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Test over, or lb reset the connection (a cut tunnel): either way this connection is done.
            if (ex is SocketException)
            {
                _closedByPeer.Release();
            }
        }
        finally
        {
            socket.Dispose();
        }
    }

    private async Task EchoAsync(Socket socket, byte[] buffer, int pending)
    {
        if (pending > 0)
        {
            await socket.SendAsync(buffer.AsMemory(0, pending), _stop.Token);
        }

        while (true)
        {
            var read = await socket.ReceiveAsync(buffer, _stop.Token);
            if (read == 0)
            {
                _closedByPeer.Release();
                return;
            }

            await socket.SendAsync(buffer.AsMemory(0, read), _stop.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _acceptLoop;
        Task[] connections;
        lock (_connections)
        {
            connections = [.. _connections];
        }

        await Task.WhenAll(connections);
        _stop.Dispose();
        _closedByPeer.Dispose();
    }
}
