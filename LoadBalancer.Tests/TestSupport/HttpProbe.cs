using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LoadBalancer.Tests.TestSupport;

/// <summary>How one request through lb ended, as precisely as a client can tell.</summary>
public enum ProbeOutcome
{
    /// <summary>A complete 200 response.</summary>
    Ok,

    /// <summary>A complete response with another status.</summary>
    Status,

    /// <summary>The connection could not be made (refused): the listener was not accepting.</summary>
    Refused,

    /// <summary>The connection ended (EOF or reset) before any byte of a response: lb did not take the request.</summary>
    ClosedBeforeResponse,

    /// <summary>The connection ended in the middle of a response: a request lb had taken was lost.</summary>
    Broken,
}

/// <summary>One response read by Content-Length; only what the load tests need.</summary>
public sealed record ProbeResult(ProbeOutcome Outcome, int Status = 0, string? Backend = null, bool ConnectionClose = false, string? Detail = null);

/// <summary>
/// A raw HTTP/1.1 client connection for load loops: unlike HttpClient it never retries, and it tells "closed before
/// any response byte" (lb closed an idle connection, or never accepted it) from "broken mid-response" (a lost request).
/// </summary>
public sealed class HttpProbe : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly byte[] _buffer = new byte[16 * 1024];

    private HttpProbe(Socket socket) => _socket = socket;

    public static async Task<HttpProbe?> ConnectAsync(IPEndPoint endPoint, CancellationToken cancellationToken)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endPoint, cancellationToken);
            return new HttpProbe(socket);
        }
        catch (SocketException)
        {
            socket.Dispose();
            return null;
        }
    }

    /// <summary>A new connection for one request (<c>Connection: close</c>); <see cref="ProbeOutcome.Refused"/> if connect fails.</summary>
    public static async Task<ProbeResult> GetOnceAsync(IPEndPoint endPoint, string host, string path, CancellationToken cancellationToken)
    {
        await using var probe = await ConnectAsync(endPoint, cancellationToken);
        return probe is null
            ? new ProbeResult(ProbeOutcome.Refused)
            : await probe.GetAsync(host, path, cancellationToken, close: true);
    }

    public async Task<ProbeResult> GetAsync(string host, string path, CancellationToken cancellationToken, bool close = false)
    {
        var request = $"GET {path} HTTP/1.1\r\nHost: {host}\r\n{(close ? "Connection: close\r\n" : "")}\r\n";
        var received = 0;
        try
        {
            await _socket.SendAsync(Encoding.ASCII.GetBytes(request), cancellationToken);
            while (true)
            {
                var read = await _socket.ReceiveAsync(_buffer.AsMemory(received), cancellationToken);
                if (read == 0)
                {
                    return received == 0
                        ? new ProbeResult(ProbeOutcome.ClosedBeforeResponse)
                        : new ProbeResult(ProbeOutcome.Broken, Detail: $"EOF after {received} bytes");
                }

                received += read;
                if (TryParse(_buffer.AsSpan(0, received), out var result))
                {
                    return result;
                }

                if (received == _buffer.Length)
                {
                    return new ProbeResult(ProbeOutcome.Broken, Detail: "response too large for the probe");
                }
            }
        }
        catch (SocketException ex)
        {
            return received == 0
                ? new ProbeResult(ProbeOutcome.ClosedBeforeResponse, Detail: ex.SocketErrorCode.ToString())
                : new ProbeResult(ProbeOutcome.Broken, Detail: $"{ex.SocketErrorCode} after {received} bytes");
        }
    }

    /// <summary>Waits for the peer to close this idle connection: true on EOF or reset, false if bytes arrive instead.</summary>
    public async Task<bool> WaitForCloseAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _socket.ReceiveAsync(_buffer, cancellationToken) == 0;
        }
        catch (SocketException)
        {
            return true;
        }
    }

    private static bool TryParse(ReadOnlySpan<byte> data, out ProbeResult result)
    {
        result = null!;
        var headEnd = data.IndexOf("\r\n\r\n"u8);
        if (headEnd < 0)
        {
            return false;
        }

        var lines = Encoding.ASCII.GetString(data[..headEnd]).Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1]);
        var contentLength = 0;
        string? backend = null;
        var close = false;
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':');
            var name = line[..colon];
            var value = line[(colon + 1)..].Trim();
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                contentLength = int.Parse(value);
            }
            else if (name.Equals("X-Backend", StringComparison.OrdinalIgnoreCase))
            {
                backend = value;
            }
            else if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase))
            {
                close = value.Contains("close", StringComparison.OrdinalIgnoreCase);
            }
        }

        if (data.Length < headEnd + 4 + contentLength)
        {
            return false;
        }

        result = new ProbeResult(status == 200 ? ProbeOutcome.Ok : ProbeOutcome.Status, status, backend, close);
        return true;
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
