using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Transport;
using Microsoft.Extensions.Logging;
using LoadBalancer.Core.Http1;

namespace LoadBalancer.Core.Admin;

/// <summary>
/// The admin endpoint (metrics, status, reload), served by lb's own socket + pipelines code and the same strict
/// parser as the data path. Not a hot path: handlers may allocate. Optional bearer token, compared in constant time.
/// </summary>
public sealed class AdminServer : IAsyncDisposable
{
    private const int MaxBodyBytes = 64 * 1024;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);

    private readonly SocketListener _listener;
    private readonly Func<AdminRequest, CancellationToken, ValueTask<AdminResponse>> _handler;
    private readonly byte[]? _tokenHash;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private int _connections;
    private readonly TaskCompletionSource _allClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private AdminServer(SocketListener listener, Func<AdminRequest, CancellationToken, ValueTask<AdminResponse>> handler, string? token, ILogger logger)
    {
        _listener = listener;
        _handler = handler;
        _tokenHash = token is null ? null : SHA256.HashData(Encoding.UTF8.GetBytes(token));
        _logger = logger;
        _acceptLoop = listener.AcceptLoopAsync(OnAccepted);
    }

    public IPEndPoint EndPoint => _listener.BoundEndPoint;

    public static AdminServer Start(IPEndPoint endPoint, Func<AdminRequest, CancellationToken, ValueTask<AdminResponse>> handler, string? token, ILogger logger)
        => new(SocketListener.Bind(endPoint, backlog: 128), handler, token, logger);

    private void OnAccepted(Socket socket)
    {
        Interlocked.Increment(ref _connections);
        _ = ServeAsync(socket).ContinueWith(
            static (task, state) =>
            {
                var server = (AdminServer)state!;
                if (task.IsFaulted)
                {
                    server._logger.LogWarning(task.Exception, "Admin connection failed");
                }

                if (Interlocked.Decrement(ref server._connections) == 0 && server._stop.IsCancellationRequested)
                {
                    server._allClosed.TrySetResult();
                }
            },
            this,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private async Task ServeAsync(Socket socket)
    {
        var reader = SocketIo.CreateReader(socket, out var stream);
        var headers = new HeaderLine[HttpLimits.Default.MaxHeaders];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        try
        {
            while (true)
            {
                timeout.CancelAfter(RequestTimeout);
                var (request, close, authorized, error) = await ReadRequestAsync(reader, headers, timeout.Token).ConfigureAwait(false);
                if (request is null && error == 0)
                {
                    return;
                }

                AdminResponse response;
                if (error != 0)
                {
                    response = AdminResponse.Text(error, CannedResponses.ReasonPhrase(error) + "\n");
                    close = true;
                }
                else if (!authorized && !Dashboard.DashboardEndpoints.IsPublic(request!.Method, request.Path))
                {
                    response = AdminResponse.Text(401, "admin token required\n");
                }
                else
                {
                    try
                    {
                        response = await _handler(request!, timeout.Token).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        _logger.LogError(ex, "Admin handler failed for {Path}", request!.Path);
                        response = AdminResponse.Text(500, "internal error\n");
                    }
                }

                var head = Encoding.ASCII.GetBytes(string.Create(
                    CultureInfo.InvariantCulture,
                    $"HTTP/1.1 {response.Status} {CannedResponses.ReasonPhrase(response.Status)}\r\nContent-Type: {response.ContentType}\r\nContent-Length: {response.Body.Length}\r\nCache-Control: no-store\r\n{(close ? "Connection: close\r\n" : "")}\r\n"));
                await SocketIo.SendAsync(socket, head, timeout.Token).ConfigureAwait(false);
                await SocketIo.SendAsync(socket, response.Body, timeout.Token).ConfigureAwait(false);
                if (close)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Admin clients come and go; a broken one affects nothing else.
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
            await stream.DisposeAsync().ConfigureAwait(false);
            SocketIo.CloseGracefully(socket);
        }
    }

    private async Task<(AdminRequest? Request, bool Close, bool Authorized, int Error)> ReadRequestAsync(PipeReader reader, HeaderLine[] headers, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (buffer.IsEmpty && result.IsCompleted)
            {
                return (null, true, false, 0);
            }

            var data = buffer.IsSingleSegment ? buffer.First : buffer.Slice(0, Math.Min(buffer.Length, HttpLimits.Default.MaxHeadBytes + 1)).ToArray();
            var head = default(HttpMessageHead);
            var status = Http1HeadParser.TryParseRequest(data.Span, HttpLimits.Default, ref head, headers);
            if (status == HeadParseStatus.Invalid)
            {
                reader.AdvanceTo(buffer.End);
                return (null, true, false, head.ErrorStatus == 0 ? 400 : head.ErrorStatus);
            }

            if (status == HeadParseStatus.Incomplete)
            {
                if (result.IsCompleted)
                {
                    return (null, true, false, 0);
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
                continue;
            }

            var span = data.Span;
            var method = Encoding.ASCII.GetString(span.Slice(head.MethodStart, head.MethodLength));
            var target = Encoding.ASCII.GetString(span.Slice(head.TargetStart, head.TargetLength));
            var authorized = _tokenHash is null;
            for (var i = 0; i < head.HeaderCount; i++)
            {
                var name = span.Slice(headers[i].NameStart, headers[i].NameLength);
                if (_tokenHash is not null && Ascii.EqualsIgnoreCase(name, "Authorization"u8))
                {
                    var value = span.Slice(headers[i].ValueStart, headers[i].ValueLength);
                    if (value.Length > 7 && Ascii.EqualsIgnoreCase(value[..7], "Bearer "u8))
                    {
                        authorized = CryptographicOperations.FixedTimeEquals(SHA256.HashData(value[7..]), _tokenHash);
                    }
                }
            }

            var close = head.ConnectionClose;
            var length = head.ContentLength;
            reader.AdvanceTo(buffer.GetPosition(head.HeadLength));
            if (head.Chunked || length > MaxBodyBytes)
            {
                return (null, true, false, head.Chunked ? 411 : 413);
            }

            var body = length > 0 ? await ReadBodyAsync(reader, (int)length, cancellationToken).ConfigureAwait(false) : [];
            var query = target.IndexOf('?', StringComparison.Ordinal);
            var path = query < 0 ? target : target[..query];
            return (new AdminRequest(method, path, query < 0 ? "" : target[(query + 1)..], body), close, authorized, 0);
        }
    }

    private static async Task<byte[]> ReadBodyAsync(PipeReader reader, int length, CancellationToken cancellationToken)
    {
        var result = await reader.ReadAtLeastAsync(length, cancellationToken).ConfigureAwait(false);
        if (result.Buffer.Length < length)
        {
            throw new IOException("admin request body truncated");
        }

        var body = result.Buffer.Slice(0, length).ToArray();
        reader.AdvanceTo(result.Buffer.GetPosition(length));
        return body;
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Dispose();
        await _stop.CancelAsync().ConfigureAwait(false);
        await _acceptLoop.ConfigureAwait(false);
        if (Volatile.Read(ref _connections) > 0)
        {
            await Task.WhenAny(_allClosed.Task, Task.Delay(TimeSpan.FromSeconds(2))).ConfigureAwait(false);
        }

        _stop.Dispose();
    }
}
