using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LoadBalancer.Bench.Load;

/// <summary>
/// The lean HTTP/1.1 backend of the load run: it counts request heads (CRLFCRLF; the bench sends only body-less GETs)
/// and answers each with the same precomputed response (after <see cref="SetDelay"/> ms when set), so it costs far less than the proxy it feeds. It runs inside
/// the bench process, next to the generator (with <c>--pin</c> both share CPU 0). A request carrying
/// <c>Connection: close</c> is answered, then the connection is closed.
/// </summary>
internal sealed class BenchBackend : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly Task _acceptLoop;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<(Socket Socket, Task Task)> _connections = [];
    private Responses _responses;
    private int _delayMs;

    private BenchBackend(Socket listener, int bodyBytes)
    {
        _listener = listener;
        _responses = new Responses(BuildResponse(bodyBytes, close: false), BuildResponse(bodyBytes, close: true));
        EndPoint = (IPEndPoint)listener.LocalEndPoint!;
        _acceptLoop = AcceptLoopAsync();
    }

    public IPEndPoint EndPoint { get; }

    public static BenchBackend Start(int bodyBytes)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Listen(8192);
        return new BenchBackend(socket, bodyBytes);
    }

    /// <summary>Changes the response body size for the following requests (between scenarios).</summary>
    public void SetBodyBytes(int bodyBytes)
        => Volatile.Write(ref _responses, new Responses(BuildResponse(bodyBytes, close: false), BuildResponse(bodyBytes, close: true)));

    /// <summary>A response that closes says so (RFC 9112 section 9.6), so clients such as wrk do not reuse the connection.</summary>
    public static byte[] BuildResponse(int bodyBytes, bool close)
    {
        var connection = close ? "Connection: close\r\n" : "";
        var head = Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n{connection}Content-Length: {bodyBytes}\r\n\r\n");
        var response = new byte[head.Length + bodyBytes];
        head.CopyTo(response, 0);
        response.AsSpan(head.Length).Fill((byte)'x');
        return response;
    }

    /// <summary>
    /// Each response waits this long first (a slow backend, for the noisy-neighbour scenario). The wait is per
    /// connection, so a backend serves as many requests at once as it has connections.
    /// </summary>
    public void SetDelay(int milliseconds) => Volatile.Write(ref _delayMs, milliseconds);

    private sealed record Responses(byte[] KeepAlive, byte[] Close);

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is ObjectDisposedException or OperationCanceledException or SocketException)
            {
                return;
            }

            client.NoDelay = true;
            lock (_connections)
            {
                _connections.RemoveAll(static c => c.Task.IsCompleted);
                _connections.Add((client, ServeAsync(client)));
            }
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        var buffer = new byte[16 * 1024];
        var matched = 0;   // how much of CRLFCRLF the previous bytes matched
        try
        {
            while (true)
            {
                var read = await socket.ReceiveAsync(buffer.AsMemory(), SocketFlags.None).ConfigureAwait(false);
                if (read == 0)
                {
                    return;
                }

                var data = buffer.AsSpan(0, read);
                var heads = CountHeadEnds(data, ref matched);
                var close = data.IndexOf("Connection: close"u8) >= 0 || data.IndexOf("connection: close"u8) >= 0;
                var response = close ? Volatile.Read(ref _responses).Close : Volatile.Read(ref _responses).KeepAlive;
                for (var i = 0; i < heads; i++)
                {
                    if (Volatile.Read(ref _delayMs) is var delay and > 0)
                    {
                        await Task.Delay(delay).ConfigureAwait(false);
                    }

                    var remaining = response.AsMemory();
                    while (!remaining.IsEmpty)
                    {
                        var sent = await socket.SendAsync(remaining, SocketFlags.None).ConfigureAwait(false);
                        remaining = remaining[sent..];
                    }
                }

                if (close && heads > 0)
                {
                    socket.Shutdown(SocketShutdown.Both);
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // No cancellation token per call (registering one per request would cost); DisposeAsync closes the sockets.
        // Peers reset and close as they like; a bench backend just drops the connection.
        }
        finally
        {
            socket.Dispose();
        }
    }

    private static int CountHeadEnds(ReadOnlySpan<byte> data, ref int matched)
    {
        var count = 0;
        foreach (var b in data)
        {
            matched = b switch
            {
                (byte)'\r' => matched == 2 ? 3 : 1,
                (byte)'\n' when matched == 1 => 2,
                (byte)'\n' when matched == 3 => 4,
                _ => 0,
            };
            if (matched == 4)
            {
                count++;
                matched = 0;
            }
        }

        return count;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        await _acceptLoop.ConfigureAwait(false);
        (Socket Socket, Task Task)[] connections;
        lock (_connections)
        {
            connections = [.. _connections];
        }

        foreach (var (socket, _) in connections)
        {
            socket.Dispose();
        }

        foreach (var (_, task) in connections)
        {
            await task.ConfigureAwait(false);
        }

        _stop.Dispose();
    }
}
