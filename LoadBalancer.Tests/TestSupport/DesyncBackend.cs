using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LoadBalancer.Tests.TestSupport;

/// <summary>
/// A backend that misbehaves on cue, to prove that nothing it sends beyond a well-framed answer reaches anyone. A
/// request for <c>/script</c> is answered with the scripted parts (each written after its delay); every other request
/// gets a fresh, well-framed 200 whose body names the Host and path it answers and a sequence number, so a client can
/// tell its own answer from a stale or smuggled one. A connection on which the script sent bytes beyond what a correct
/// proxy reads is "dirty": lb must close it and never send it another request. This backend, not lb, is the witness.
/// </summary>
public sealed class DesyncBackend : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly Task _acceptLoop;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<Task> _serving = new();
    private readonly ConcurrentQueue<string> _heads = new();
    private readonly ConcurrentQueue<TaskCompletionSource> _dirtyClosed = new();
    private readonly TaskCompletionSource _scriptDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _sequence;
    private int _requestsOnDirty;
    private int _connections;

    private DesyncBackend(Script script)
    {
        ScriptToSend = script;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(128);
        _acceptLoop = AcceptLoopAsync();
    }

    /// <summary>What <c>/script</c> is answered with.</summary>
    /// <param name="Parts">Raw bytes (Latin-1), written one after another.</param>
    /// <param name="Delay">Pause before each part after the first.</param>
    /// <param name="Dirty">The parts hold bytes beyond one well-framed answer (lb must close this connection).</param>
    /// <param name="CloseAfter">Close the connection after the last part.</param>
    public sealed record Script(string[] Parts, TimeSpan Delay, bool Dirty, bool CloseAfter = false);

    public Script ScriptToSend { get; }

    public string Address => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndPoint!).Port}";

    public int Connections => Volatile.Read(ref _connections);

    /// <summary>Requests lb sent on a connection that still held bytes it had not read: must stay 0.</summary>
    public int RequestsOnDirtyConnections => Volatile.Read(ref _requestsOnDirty);

    /// <summary>Every request head received, in order.</summary>
    public IReadOnlyCollection<string> Heads => _heads;

    /// <summary>Completes once every scripted part has been written.</summary>
    public Task ScriptDone => _scriptDone.Task;

    public static DesyncBackend Start(Script script) => new(script);

    /// <summary>Completes when lb has closed every dirty connection (EOF or reset seen here).</summary>
    public Task WhenDirtyConnectionsClosedAsync(CancellationToken cancellationToken)
        => Task.WhenAll(_dirtyClosed.Select(t => t.Task)).WaitAsync(cancellationToken);

    public static string AnswerBody(string host, string path, int sequence) => $"{host} {path} #{sequence}";

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (true)
            {
                var socket = await _listener.AcceptAsync(_stop.Token);
                Interlocked.Increment(ref _connections);
                _serving.Enqueue(ServeAsync(socket));
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        var buffer = new byte[16 * 1024];
        var length = 0;
        TaskCompletionSource? dirty = null;
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
                        return;
                    }

                    length += read;
                    continue;
                }

                var head = Encoding.Latin1.GetString(buffer, 0, headEnd + 4);
                var consumed = headEnd + 4;
                Buffer.BlockCopy(buffer, consumed, buffer, 0, length - consumed);
                length -= consumed;
                _heads.Enqueue(head);
                if (dirty is not null)
                {
                    Interlocked.Increment(ref _requestsOnDirty);
                }

                var requestLine = head[..head.IndexOf("\r\n", StringComparison.Ordinal)].Split(' ');
                if (requestLine[1] == "/script")
                {
                    for (var i = 0; i < ScriptToSend.Parts.Length; i++)
                    {
                        if (i > 0 && ScriptToSend.Delay > TimeSpan.Zero)
                        {
                            await Task.Delay(ScriptToSend.Delay, _stop.Token);
                        }

                        await socket.SendAsync(Encoding.Latin1.GetBytes(ScriptToSend.Parts[i]), _stop.Token);
                    }

                    if (ScriptToSend.Dirty)
                    {
                        dirty = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                        _dirtyClosed.Enqueue(dirty);
                    }

                    _scriptDone.TrySetResult();
                    if (ScriptToSend.CloseAfter)
                    {
                        return;
                    }

                    continue;
                }

                var host = HostOf(head);
                var body = AnswerBody(host, requestLine[1], Interlocked.Increment(ref _sequence));
                await socket.SendAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\n\r\n{body}"), _stop.Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            dirty?.TrySetResult();
            socket.Dispose();
        }
    }

    private static string HostOf(string head)
    {
        foreach (var line in head.Split("\r\n"))
        {
            if (line.StartsWith("Host:", StringComparison.OrdinalIgnoreCase))
            {
                return line[5..].Trim();
            }
        }

        return "";
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _acceptLoop;
        await Task.WhenAll(_serving);
        _stop.Dispose();
    }
}
