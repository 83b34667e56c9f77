using System.Buffers;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using LoadBalancer.Core.Async;
using LoadBalancer.Core.Metrics;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Proxy;
using LoadBalancer.Core.Proxy.Upstream;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Transport;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Core.Http1;

/// <summary>
/// The upstream exchange over pooled HTTP/1 keep-alive connections: one request at a time, driven for any client codec
/// through <see cref="IDownstream"/>. It gets a connection from the <see cref="BackendConnector"/>, sends the head and
/// starts the body, relays 1xx answers, reads the final head, streams the body by its RFC 9112 framing, and decides
/// whether the backend connection goes back to its pool; retries and passive health are in the .Health part. One per
/// client connection (or stream), reset per request; its buffers are rented per response, so an idle one holds none.
/// </summary>
internal sealed partial class Http1Upstream
{
    /// <summary>Backends may send bigger heads than clients (many Set-Cookie lines); lb still caps them.</summary>
    private static readonly HttpLimits ResponseLimits = new() { MaxHeadBytes = 64 * 1024, MaxHeaders = 256 };

    private IDownstream _downstream;
    private readonly ProxyExchange _exchange;
    private readonly BackendConnector _connector;
    private readonly DeadlineTimer _timer;
    private readonly ILogger _logger;
    private readonly ProxyEngine _engine;

    private BackendConnection? _connection;
    private PoolSnapshot? _pool;

    // The request's backend-side timeouts: its route's, over its pool's.
    private PoolTimeouts _timeouts = PoolTimeouts.Default;

    // The client's deadline (grpc-timeout) is shorter than timeouts.response_head for this request.
    private bool _clientDeadlineBinds;

    // The response head is parsed into the connection's head state (the request's head is encoded by then), and is
    // valid until it is sent.
    private readonly Http1HeadState _heads;

    // Why the backend connection is closed if the exchange ends without reaching the reuse decision: set as the
    // exchange learns (a backend read fails, a body breaks); a client that goes away is the default.
    private DiscardReason _discardReason;

    // Set by the request body copy: malformed chunked framing, a stall past body_idle, or any failure; read once the
    // response wait ends.
    private volatile bool _requestBodyInvalid;
    private volatile bool _requestBodyTimedOut;
    private volatile bool _requestBodyFailed;

    // Set by the request body copy once every body byte was taken from the client; a response may arrive a moment
    // before that copy's last send returns, and must not then be mistaken for an early answer.
    private volatile bool _requestBodyRead;

    /// <param name="timer">The deadline of the backend side, owned by the client connection (the engine's sweep finds it there).</param>
    /// <param name="heads">The client connection's head state, which the response head then occupies.</param>
    public Http1Upstream(ProxyEngine engine, IDownstream? downstream, ProxyExchange exchange, DeadlineTimer timer, Http1HeadState heads)
    {
        _heads = heads;
        _downstream = downstream!;
        _exchange = exchange;
        _timer = timer;
        _logger = engine.Logger;
        _engine = engine;
        _connector = new BackendConnector(engine, timer);
    }

    /// <summary>An upstream lent with its <see cref="Http1RequestState"/> serves the connection that borrowed it.</summary>
    public void BindDownstream(IDownstream downstream) => _downstream = downstream;

    /// <summary>
    /// A body source that is not this class's own copy (an HTTP/2 stream's DATA) says every body byte was taken from
    /// the client: a response that arrives before its last send completes is then not an early answer.
    /// </summary>
    public void NoteRequestBodyRead() => _requestBodyRead = true;

    /// <summary>Aborts the backend connection in use, if any (the engine's abort path).</summary>
    public void Abort()
    {
        SocketIo.Abort(_connection?.Channel);
        _http2?.Abort();
    }

    // The exchange for h2 pools (Http2.Upstream), made at this upstream's first request to one.
    private Http2.Upstream.Http2Upstream? _http2;

    /// <summary>
    /// Sends the routed request to <paramref name="pool"/> under <paramref name="timeouts"/> (its route's) and streams
    /// the response to the downstream. Returns whether the client connection stays open. The backend connection is
    /// released by <see cref="Release"/>.
    /// </summary>
    /// <param name="clientDeadline">
    /// The client's own bound on the wait for the response head (gRPC's grpc-timeout), or null: the shorter of it and
    /// timeouts.response_head applies, and when it is the client's that passes, the answer is 504 deadline_exceeded
    /// and passive health does not count it against the backend.
    /// </param>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    public async ValueTask<bool> ForwardAsync(ListenerSnapshot listener, PoolSnapshot pool, PoolTimeouts timeouts, TimeSpan? clientDeadline = null)
    {
        if (pool.Http2)
        {
            // One request path up to here; the backend side speaks HTTP/2 (the connector and health are shared).
            _http2 ??= new Http2.Upstream.Http2Upstream(_engine, _exchange, _connector, _timer);
            return await _http2.ForwardAsync(_downstream, listener, pool, timeouts, clientDeadline).ConfigureAwait(false);
        }

        _pool = pool;
        _timeouts = timeouts;
        _clientDeadlineBinds = clientDeadline is { } deadline && deadline < timeouts.ResponseHead;
        var responseHead = _clientDeadlineBinds ? clientDeadline!.Value : timeouts.ResponseHead;
        _requestBodyInvalid = false;
        _requestBodyTimedOut = false;
        _requestBodyFailed = false;
        _requestBodyRead = false;
        _discardReason = DiscardReason.ClientAborted;
        var connection = await AcquireBackendAsync(pool).ConfigureAwait(false);
        if (connection is null)
        {
            return false;
        }

        // A pooled keep-alive connection may have been closed by the backend just as we reused it. Replay is safe only
        // while nothing of the body went out and no response byte came back: then retry once on a fresh connection.
        Task? bodyTask = null;
        HeadOutcome outcome;
        var continueSent = false;
        var downstream = _downstream;
        while (true)
        {
            var sent = await TrySendAsync(connection.Transport, downstream.RequestHead).ConfigureAwait(false);
            if (sent && downstream.RequestFraming != BodyFraming.None)
            {
                if (downstream.ExpectsContinue && !continueSent && connection.Backend.AnswersHttp10)
                {
                    // An HTTP/1.0 backend never sends 100 Continue: the client would hold its body back until its own
                    // expect timeout. lb answers for it (RFC 9110 section 10.1.1), once, right after the head went out.
                    continueSent = true;
                    await downstream.SendContinueAsync().ConfigureAwait(false);
                }

                bodyTask = downstream.StartRequestBody(connection.Transport);
            }

            outcome = sent ? await ReadResponseHeadAsync(connection, responseHead).ConfigureAwait(false) : HeadOutcome.Closed;
            if (outcome != HeadOutcome.Closed || bodyTask is not null)
            {
                break;
            }

            connection = await RetryAfterCloseAsync(pool, connection).ConfigureAwait(false); // health: stale replay, else retry elsewhere
            if (connection is null)
            {
                return false;
            }
        }

        if (outcome != HeadOutcome.Complete)
        {
            await FailResponseAsync(outcome, connection, pool, bodyTask).ConfigureAwait(false);
            return false;
        }

        while (true)
        {
            var status = _heads.Head.StatusCode;
            if (status == 101)
            {
                if (!downstream.AcceptsUpgrade(_heads.Memory.Span, _heads.Headers.AsSpan(0, _heads.Head.HeaderCount)))
                {
                    await FailResponseAsync(HeadOutcome.Invalid, connection, pool, bodyTask).ConfigureAwait(false);
                    return false;
                }

                _exchange.OnResponseSent(101, _heads.Head.HeadLength);
                await TunnelAsync(connection).ConfigureAwait(false);
                return false;
            }

            if (status >= 200)
            {
                break;
            }

            // 1xx interim responses (100 Continue, 103 Early Hints) go to the client as they are, where it takes them.
            var interimLength = _heads.Head.HeadLength;
            await downstream.SendInterimAsync(_heads.Pending.Slice(0, interimLength), _timer).ConfigureAwait(false);
            connection.Reader.AdvanceTo(_heads.Pending.GetPosition(interimLength));
            _heads.Pending = default;
            outcome = await ReadResponseHeadAsync(connection, responseHead).ConfigureAwait(false);
            if (outcome != HeadOutcome.Complete)
            {
                await FailResponseAsync(outcome, connection, pool, bodyTask).ConfigureAwait(false);
                return false;
            }
        }

        OnResponseHead(pool, connection.Backend, _heads.Head.StatusCode); // health: passive check (5xx counts as a failure)
        connection.Backend.NoteResponseVersion(_heads.Head.MinorVersion);
        var framing = ResponseFraming(_heads.Head, downstream.IsHeadRequest);

        // RFC 9112 section 9.3: the backend connection carries another request only if this response's end is certain.
        DiscardReason? discard = _heads.Head.ConnectionClose ? DiscardReason.ConnectionClose
            : framing == BodyFraming.UntilClose ? DiscardReason.CloseDelimited
            : null;

        // A request body still being sent when the final answer arrives means the backend refused it early: the rest
        // of the body is unread, so the client connection cannot carry another request (it must be told so now).
        var bodyUnfinished = bodyTask is { IsCompleted: false } && !_requestBodyRead;
        var length = _heads.Head.ContentLength;
        var afterHead = _heads.Pending.Slice(_heads.Head.HeadLength);

        // The body bytes already here go out with the head in one send when the downstream has room for them: the whole
        // body of a small answer, the first read's share of a large one (one packet and one client wake-up fewer).
        var bodyStart = framing == BodyFraming.ContentLength ? afterHead.Slice(0, Math.Min(afterHead.Length, length)) : default;
        var bodyStartIsWhole = !bodyStart.IsEmpty && bodyStart.Length == length;
        var response = new ResponseHeadView(_heads.Memory, _heads.Head, _heads.Headers!, framing);
        _timer.Arm(listener.Timeouts.BodyIdle);
        var relay = await downstream.SendResponseHeadAsync(response, bodyStart, bodyStartIsWhole, bodyUnfinished, _timer).ConfigureAwait(false);
        _heads.Memory = default;
        if (relay == ResponseBodyRelay.SentWithHead)
        {
            connection.Reader.AdvanceTo(bodyStart.End);
            _heads.Pending = default;
            if (!bodyStartIsWhole)
            {
                await CopyBodyAsync(connection.Reader, destination: null, framing, length - bodyStart.Length, _timer, listener.Timeouts.BodyIdle, isRequestBody: false).ConfigureAwait(false);
            }
        }
        else
        {
            connection.Reader.AdvanceTo(afterHead.Start);
            _heads.Pending = default;
            if (relay == ResponseBodyRelay.Dechunked && framing == BodyFraming.Chunked)
            {
                await RelayDechunkedAsync(connection.Reader, listener.Timeouts.BodyIdle).ConfigureAwait(false);
            }
            else if (framing != BodyFraming.None)
            {
                await CopyBodyAsync(connection.Reader, destination: null, framing, length, _timer, listener.Timeouts.BodyIdle, isRequestBody: false).ConfigureAwait(false);
            }
        }

        _timer.Disarm();
        var requestUnfinished = false;
        if (bodyTask is not null && !await FinishRequestBodyAsync(bodyTask, connection).ConfigureAwait(false))
        {
            // The backend answered before taking the whole body: where the next request starts is unknown.
            discard = DiscardReason.RequestUnfinished;
            requestUnfinished = true;
        }
        else if (discard is null && !connection.Reader.IsDrained)
        {
            // Bytes beyond the framing (after a HEAD, 204 or 304 head, or a complete body) answer no request lb sent:
            // left on a pooled connection, they would be read as the next request's response (response splitting).
            discard = connection.Reader.HasBufferedBytes ? DiscardReason.UnreadBytes : DiscardReason.BackendClosed;
        }

        if (discard is { } reason)
        {
            _discardReason = reason;
        }

        var keepAlive = downstream.EndResponse(requestUnfinished);
        Release(reuse: discard is null);
        return keepAlive;
    }

    /// <summary>
    /// Ends the request on the backend side: the connection goes back to its pool when <paramref name="reuse"/> (the
    /// response ended exactly at its framing), else it is closed and counted under the recorded discard reason.
    /// </summary>
    public void Release(bool reuse)
    {
        var connection = _connection;
        if (connection is not null)
        {
            _connection = null;
            connection.ExitInFlight();
            if (!reuse)
            {
                connection.Discard(_discardReason);
            }
            else if (_pool?.SendProxyProtocol is null or ProxyProtocolVersion.None)
            {
                connection.Backend.IdleConnections.Return(connection);
            }
            else
            {
                // A connection that carried a PROXY header speaks for one client only: never share it.
                connection.Discard(DiscardReason.ProxyProtocol);
            }
        }

        _heads.Release();
        ReturnStaging();
        _pool = null;
    }

    private static async ValueTask<bool> TrySendAsync(IConnection socket, ReadOnlyMemory<byte> data)
    {
        try
        {
            await SocketIo.SendAsync(socket, data, timer: null).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            return false;
        }
    }

    private static bool IsExpectedNetworkError(Exception ex)
        => ex is SocketException or IOException or ObjectDisposedException or OperationCanceledException;
}
