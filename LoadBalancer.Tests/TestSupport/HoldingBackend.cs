using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LoadBalancer.Tests.TestSupport;

/// <summary>
/// A backend for tenancy tests that records every request head exactly as received (to check what lb forwards) and can hold its
/// responses until <see cref="Release"/>, so a test controls how many requests are in flight without sleeping.
/// Reads Content-Length bodies only; answers 200 with <c>X-Backend: name</c>.
/// </summary>
public sealed class HoldingBackend : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly string _name;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accept;
    private readonly SemaphoreSlim _received = new(0, int.MaxValue);
    private readonly string? _holdPath;
    private TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private HoldingBackend(string name, bool hold, IPEndPoint? bind, string? holdPath)
    {
        _name = name;
        _holdPath = holdPath;
        if (!hold)
        {
            _gate.SetResult();
        }

        _listener = new TcpListener(bind ?? new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Start(512);
        _accept = AcceptAsync();
    }

    /// <param name="bind">Where to listen (default 127.0.0.1 on a fresh port); DNS tests bind 127.0.0.x on one port.</param>
    /// <param name="holdPath">With <paramref name="hold"/>, hold only requests for this path; the others are answered at once.</param>
    public static HoldingBackend Start(string name, bool hold = false, IPEndPoint? bind = null, string? holdPath = null) => new(name, hold, bind, holdPath);

    public string Address => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>Every request head received, in arrival order, as text.</summary>
    public ConcurrentQueue<string> Heads { get; } = new();

    /// <summary>Lets every held response (and all later ones) go.</summary>
    public void Release() => _gate.TrySetResult();

    /// <summary>Waits until <paramref name="count"/> more request heads have arrived.</summary>
    public async Task WaitForRequestsAsync(int count, CancellationToken cancellationToken)
    {
        for (var i = 0; i < count; i++)
        {
            await _received.WaitAsync(cancellationToken);
        }
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                _ = ServeAsync(client);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException or InvalidOperationException)
        {
            // Stopped (InvalidOperationException: an accept raced with Stop).
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        var stream = client.GetStream();
        var buffer = new byte[64 * 1024];
        var length = 0;
        try
        {
            while (true)
            {
                int end;
                while ((end = buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8)) < 0)
                {
                    var read = await stream.ReadAsync(buffer.AsMemory(length), _stop.Token);
                    if (read == 0)
                    {
                        return;
                    }

                    length += read;
                }

                var head = Encoding.ASCII.GetString(buffer, 0, end + 4);
                var consumed = end + 4;
                var contentLength = 0;
                foreach (var line in head.Split("\r\n"))
                {
                    if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
                    {
                        contentLength = int.Parse(line[15..].Trim());
                    }
                }

                while (length - consumed < contentLength)
                {
                    var read = await stream.ReadAsync(buffer.AsMemory(length), _stop.Token);
                    if (read == 0)
                    {
                        return;
                    }

                    length += read;
                }

                consumed += contentLength;
                Buffer.BlockCopy(buffer, consumed, buffer, 0, length - consumed);
                length -= consumed;
                Heads.Enqueue(head);
                _received.Release();
                if (_holdPath is null || head.StartsWith($"GET {_holdPath} ", StringComparison.Ordinal))
                {
                    await _gate.Task.WaitAsync(_stop.Token);
                }

                var body = $"{_name}\n";
                await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nX-Backend: {_name}\r\nContent-Length: {body.Length}\r\n\r\n{body}"), _stop.Token);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away or the backend stopped.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accept;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }
}
