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
using LoadBalancer.Core.Management;

namespace LoadBalancer.Core.Admin;

/// <summary>
/// The admin endpoint (metrics, status, reload), served by lb's own socket + pipelines code and the same strict
/// parser as the data path. Not a hot path: handlers may allocate. Bearer tokens (<see cref="AdminAccess"/>) are read
/// from the provider on every request, so a reload that changes them applies to the next request without a restart.
/// </summary>
public sealed class AdminServer : IAsyncDisposable
{
    private const int MaxBodyBytes = 64 * 1024;

    /// <summary>
    /// How long a client may take to send a request (or to take its answer), and how long an idle keep-alive
    /// connection stays. It bounds slow clients, not the work: a POST /reload of a large file or a config write runs
    /// to its end and answers then, however long it takes.
    /// </summary>
    public static readonly TimeSpan DefaultRequestTimeout = TimeSpan.FromSeconds(10);

    // Who an unauthenticated request for a public path (the dashboard page) is: it may read, nothing else.
    private static readonly AdminCaller PublicCaller = new(null, AdminRole.Read);

    private readonly SocketListener _listener;
    private readonly Func<AdminRequest, CancellationToken, ValueTask<AdminResponse>> _handler;
    private readonly Func<IReadOnlyList<AdminCredential>> _credentials;
    private readonly ILogger _logger;
    private readonly TimeSpan _requestTimeout;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private int _connections;
    private int _closing;
    private readonly TaskCompletionSource _allClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private AdminServer(SocketListener listener, Func<AdminRequest, CancellationToken, ValueTask<AdminResponse>> handler, Func<IReadOnlyList<AdminCredential>> credentials, ILogger logger, TimeSpan requestTimeout)
    {
        _listener = listener;
        _handler = handler;
        _credentials = credentials;
        _logger = logger;
        _requestTimeout = requestTimeout;
        _acceptLoop = listener.AcceptLoopAsync(OnAccepted);
    }

    public IPEndPoint EndPoint => _listener.BoundEndPoint;

    /// <summary>Serves with one fixed write token (or none): what tests and tools that run no lb.toml want.</summary>
    public static AdminServer Start(IPEndPoint endPoint, Func<AdminRequest, CancellationToken, ValueTask<AdminResponse>> handler, string? token, ILogger logger, TimeSpan? requestTimeout = null)
    {
        IReadOnlyList<AdminCredential> fixedCredentials = token is null
            ? []
            : [new AdminCredential(AdminCredential.LegacyTokenId, SHA256.HashData(Encoding.UTF8.GetBytes(token)), AdminRole.Write)];
        return Start(endPoint, handler, () => fixedCredentials, logger, requestTimeout);
    }

    /// <summary>Serves with the tokens <paramref name="credentials"/> returns at each request (the live snapshot's).</summary>
    public static AdminServer Start(IPEndPoint endPoint, Func<AdminRequest, CancellationToken, ValueTask<AdminResponse>> handler, Func<IReadOnlyList<AdminCredential>> credentials, ILogger logger, TimeSpan? requestTimeout = null)
        => new(SocketListener.Bind(endPoint, backlog: 128), handler, credentials, logger, requestTimeout ?? DefaultRequestTimeout);

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

                if (Interlocked.Decrement(ref server._connections) == 0 && (server._stop.IsCancellationRequested || Volatile.Read(ref server._closing) == 1))
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
                timeout.CancelAfter(_requestTimeout);
                var (request, close, error, authenticated) = await ReadRequestAsync(reader, headers, timeout.Token).ConfigureAwait(false);

                // The clock bounds the client, not the work: a reload of 100,000 tenants runs past it, and cutting its
                // connection would leave the caller with no answer while the reload still applies. Only stop cancels it.
                timeout.CancelAfter(Timeout.InfiniteTimeSpan);
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
                else if (!authenticated && !Dashboard.DashboardEndpoints.IsPublic(request!.Method, request.Path))
                {
                    response = AdminResponse.Text(401, "admin token required\n");
                }
                else if (authenticated && AdminAccess.Refusal(request!.Caller, request.Method, request.Path) is { } refused)
                {
                    response = refused;
                }
                else
                {
                    try
                    {
                        response = await _handler(request!, _stop.Token).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        _logger.LogError(ex, "Admin handler failed for {Path}", request!.Path);
                        response = AdminResponse.Text(500, "internal error\n");
                    }
                }

                // A retired server (its address moved by a reload) finishes this answer and closes the connection.
                close |= Volatile.Read(ref _closing) == 1;
                var head = Encoding.ASCII.GetBytes(string.Create(
                    CultureInfo.InvariantCulture,
                    $"HTTP/1.1 {response.Status} {CannedResponses.ReasonPhrase(response.Status)}\r\nContent-Type: {response.ContentType}\r\nContent-Length: {response.Body.Length}\r\nCache-Control: no-store\r\n{(response.ETag is { } etag ? "ETag: " + etag + "\r\n" : "")}{(close ? "Connection: close\r\n" : "")}\r\n"));
                timeout.CancelAfter(_requestTimeout);
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

    private async Task<(AdminRequest? Request, bool Close, int Error, bool Authenticated)> ReadRequestAsync(PipeReader reader, HeaderLine[] headers, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (buffer.IsEmpty && result.IsCompleted)
            {
                return (null, true, 0, false);
            }

            var data = buffer.IsSingleSegment ? buffer.First : buffer.Slice(0, Math.Min(buffer.Length, HttpLimits.Default.MaxHeadBytes + 1)).ToArray();
            var head = default(HttpMessageHead);
            var status = Http1HeadParser.TryParseRequest(data.Span, HttpLimits.Default, ref head, headers);
            if (status == HeadParseStatus.Invalid)
            {
                reader.AdvanceTo(buffer.End);
                return (null, true, head.ErrorStatus == 0 ? 400 : head.ErrorStatus, false);
            }

            if (status == HeadParseStatus.Incomplete)
            {
                if (result.IsCompleted)
                {
                    return (null, true, 0, false);
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
                continue;
            }

            var span = data.Span;
            var method = Encoding.ASCII.GetString(span.Slice(head.MethodStart, head.MethodLength));
            var target = Encoding.ASCII.GetString(span.Slice(head.TargetStart, head.TargetLength));
            var bearer = ReadOnlySpan<byte>.Empty;
            string? ifMatch = null;
            for (var i = 0; i < head.HeaderCount; i++)
            {
                var name = span.Slice(headers[i].NameStart, headers[i].NameLength);
                var value = span.Slice(headers[i].ValueStart, headers[i].ValueLength);
                if (Ascii.EqualsIgnoreCase(name, "Authorization"u8))
                {
                    if (value.Length > 7 && Ascii.EqualsIgnoreCase(value[..7], "Bearer "u8))
                    {
                        bearer = value[7..];
                    }
                }
                else if (Ascii.EqualsIgnoreCase(name, "If-Match"u8))
                {
                    ifMatch = Encoding.ASCII.GetString(value);
                }
            }

            // Null: tokens are configured and this request carries none of them (401 unless the path is public).
            var caller = AdminAccess.Authenticate(bearer, _credentials());

            var close = head.ConnectionClose;
            var length = head.ContentLength;
            reader.AdvanceTo(buffer.GetPosition(head.HeadLength));
            if (head.Chunked || length > MaxBodyBytes)
            {
                return (null, true, head.Chunked ? 411 : 413, false);
            }

            var body = length > 0 ? await ReadBodyAsync(reader, (int)length, cancellationToken).ConfigureAwait(false) : [];
            var query = target.IndexOf('?', StringComparison.Ordinal);
            var path = query < 0 ? target : target[..query];
            return (new AdminRequest(method, path, query < 0 ? "" : target[(query + 1)..], body) { Caller = caller ?? PublicCaller, IfMatch = ifMatch }, close, 0, caller is not null);
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

    /// <summary>
    /// Stops accepting at once, lets the requests in progress finish (each connection closes after its answer) for up
    /// to <paramref name="grace"/>, then disposes: what a reload that moves <c>[admin] listen</c> does to the old address,
    /// so the POST /reload that moved it still gets its answer.
    /// </summary>
    public async ValueTask RetireAsync(TimeSpan grace)
    {
        Volatile.Write(ref _closing, 1);
        _listener.Dispose();
        if (Volatile.Read(ref _connections) > 0)
        {
            await Task.WhenAny(_allClosed.Task, Task.Delay(grace)).ConfigureAwait(false);
        }

        await DisposeAsync().ConfigureAwait(false);
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
