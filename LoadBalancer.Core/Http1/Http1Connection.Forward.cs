using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Metrics;
using LoadBalancer.Core.Proxy.Upstream;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Transport;

using LoadBalancer.Core.Async;
using LoadBalancer.Core.Proxy;

namespace LoadBalancer.Core.Http1;

internal sealed partial class Http1Connection
{
    /// <summary>Backends may send bigger heads than clients (many Set-Cookie lines); lb still caps them.</summary>
    private static readonly HttpLimits ResponseLimits = new() { MaxHeadBytes = 64 * 1024, MaxHeaders = 256 };

    // Set by the request body copy when the client's chunked framing turns out malformed; read once the response wait ends.
    private volatile bool _requestBodyInvalid;
    private volatile bool _requestBodyTimedOut;
    private volatile bool _requestBodyFailed;

    // Set by the request body copy once every body byte was taken from the client; a response may arrive a moment
    // before that copy's last send returns, and must not then be mistaken for an early answer.
    private volatile bool _requestBodyRead;

    /// <summary>Sends the routed request and streams the response back. Returns whether the client connection stays open.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ProxyRequestAsync(ListenerSnapshot listener)
    {
        var pool = _pool!;
        var connection = await AcquireBackendAsync(pool).ConfigureAwait(false);
        if (connection is null)
        {
            return false;
        }

        // A pooled keep-alive connection may have been closed by the backend just as we reused it. Replay is safe only
        // while nothing of the body went out and no response byte came back: then retry once on a fresh connection.
        Task? bodyTask = null;
        HeadOutcome outcome;
        _requestBodyInvalid = false;
        _requestBodyTimedOut = false;
        _requestBodyFailed = false;
        _requestBodyRead = false;
        _discardReason = DiscardReason.ClientAborted;
        var continueSent = false;
        while (true)
        {
            var sent = await TrySendAsync(connection.Channel, _out.AsMemory(0, _outLength)).ConfigureAwait(false);
            if (sent && _requestFraming != BodyFraming.None)
            {
                if (_expectContinue && !continueSent && connection.Backend.AnswersHttp10)
                {
                    // An HTTP/1.0 backend never sends 100 Continue: the client would hold its body back until its own
                    // expect timeout. lb answers for it (RFC 9110 section 10.1.1), once, right after the head went out.
                    continueSent = true;
                    ArmTimer(_clientTimer, listener.Timeouts.BodyIdle);
                    await SocketIo.SendAsync(_client, CannedResponses.Continue, _clientTimer).ConfigureAwait(false);
                }

                bodyTask = ForwardRequestBodyAsync(connection.Channel, listener.Timeouts.BodyIdle);
            }

            outcome = sent ? await ReadResponseHeadAsync(connection, pool.Timeouts.ResponseHead).ConfigureAwait(false) : HeadOutcome.Closed;
            if (outcome != HeadOutcome.Closed || bodyTask is not null)
            {
                break;
            }

            connection = await RetryAfterCloseAsync(listener, pool, connection).ConfigureAwait(false); // health: stale replay, else retry elsewhere (Http1Connection.Health.cs)
            if (connection is null)
            {
                return false;
            }
        }

        if (outcome != HeadOutcome.Complete)
        {
            await FailResponseAsync(outcome, listener, connection, pool, bodyTask).ConfigureAwait(false);
            return false;
        }

        while (true)
        {
            var status = _head.StatusCode;
            if (status == 101)
            {
                if (!UpgradeAnswerMatchesRequest())
                {
                    await FailResponseAsync(HeadOutcome.Invalid, listener, connection, pool, bodyTask).ConfigureAwait(false);
                    return false;
                }

                OnResponseSent(101, _head.HeadLength); // tenancy: usage accounting
                await TunnelAsync(connection).ConfigureAwait(false);
                return false;
            }

            if (status >= 200)
            {
                break;
            }

            // 1xx interim responses (100 Continue, 103 Early Hints) go to the client as they are, except to HTTP/1.0
            // clients, which cannot parse them (RFC 9110 section 15.2).
            var interimLength = _head.HeadLength;
            if (!_clientIsHttp10)
            {
                await SocketIo.SendAsync(_client, _pendingBuffer.Slice(0, interimLength), _backendTimer).ConfigureAwait(false);
            }

            connection.Reader.AdvanceTo(_pendingBuffer.GetPosition(interimLength));
            _pendingBuffer = default;
            outcome = await ReadResponseHeadAsync(connection, pool.Timeouts.ResponseHead).ConfigureAwait(false);
            if (outcome != HeadOutcome.Complete)
            {
                await FailResponseAsync(outcome, listener, connection, pool, bodyTask).ConfigureAwait(false);
                return false;
            }
        }

        OnResponseHead(pool, connection.Backend, _head.StatusCode); // health: passive check (5xx counts as a failure)
        connection.Backend.NoteResponseVersion(_head.MinorVersion);
        var framing = ResponseFraming(_head, _isHeadRequest);

        // An HTTP/1.0 client cannot parse chunked framing: the body goes to it de-chunked and ends with the connection.
        // The backend side is still read to the chunked end, so its connection stays reusable.
        var dechunk = _clientIsHttp10 && framing == BodyFraming.Chunked;

        // RFC 9112 section 9.3: the connection carries another request only if this response's end is certain.
        DiscardReason? discard = _head.ConnectionClose ? DiscardReason.ConnectionClose
            : framing == BodyFraming.UntilClose ? DiscardReason.CloseDelimited
            : null;
        // A request body still being sent when the final answer arrives means the backend refused it early: the rest
        // of the body is unread, so the client connection cannot carry another request (it must be told so now).
        var bodyUnfinished = bodyTask is { IsCompleted: false } && !_requestBodyRead;
        var closeClient = _clientWantsClose || framing == BodyFraming.UntilClose || dechunk || _engine.IsDraining || bodyUnfinished;
        var length = _head.ContentLength;

        RentOut(_head.HeadLength + 64);
        _outLength = Http1HeadWriter.WriteResponse(_headMemory.Span, _head, _headers, closeClient, _clientIsHttp10, _out, dechunk);
        var afterHead = _pendingBuffer.Slice(_head.HeadLength);
        _headMemory = default;

        ArmTimer(_backendTimer, listener.Timeouts.BodyIdle);
        if (framing == BodyFraming.ContentLength && afterHead.Length >= length && _outLength + length <= _out!.Length)
        {
            // The whole body is already here and small: one send for head and body.
            afterHead.Slice(0, length).CopyTo(_out.AsSpan(_outLength));
            connection.Reader.AdvanceTo(afterHead.GetPosition(length));
            _pendingBuffer = default;
            OnResponseSent(_head.StatusCode, _outLength + length); // tenancy: usage accounting
            await SocketIo.SendAsync(_client, _out.AsMemory(0, _outLength + (int)length), _backendTimer).ConfigureAwait(false);
        }
        else
        {
            connection.Reader.AdvanceTo(afterHead.Start);
            _pendingBuffer = default;
            OnResponseSent(_head.StatusCode, _outLength); // tenancy: usage accounting
            await SocketIo.SendAsync(_client, _out.AsMemory(0, _outLength), _backendTimer).ConfigureAwait(false);
            if (dechunk)
            {
                await ForwardDechunkedAsync(connection.Reader, _backendTimer, listener.Timeouts.BodyIdle).ConfigureAwait(false);
            }
            else if (framing != BodyFraming.None)
            {
                await ForwardBodyAsync(connection.Reader, _client, framing, length, _backendTimer, listener.Timeouts.BodyIdle).ConfigureAwait(false);
            }
        }

        DisarmTimer(_backendTimer);
        if (bodyTask is not null && !await FinishRequestBodyAsync(bodyTask, connection).ConfigureAwait(false))
        {
            // The backend answered before taking the whole body: where the next request starts is unknown.
            discard = DiscardReason.RequestUnfinished;
            closeClient = true;
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

        if (closeClient)
        {
            SetCloseReason(framing == BodyFraming.UntilClose || dechunk ? CloseReason.CloseDelimitedResponse : _engine.IsDraining ? CloseReason.Draining : CloseReason.ClientRequestedClose);
        }

        ReleaseRequestResources(reuseBackend: discard is null);
        return !closeClient;
    }

    /// <summary>A 101 must switch to a protocol lb forwarded in the request's Upgrade field (RFC 9110 section 15.2.2).</summary>
    private bool UpgradeAnswerMatchesRequest()
        => !_upgrade.IsEmpty && _upgrade.Accepts(_headMemory.Span, _headers.AsSpan(0, _head.HeaderCount));

    private static BodyFraming ResponseFraming(in HttpMessageHead head, bool isHeadRequest)
    {
        // RFC 9112 section 6.3: HEAD answers, 1xx, 204 and 304 never have a body, whatever their headers say.
        if (isHeadRequest || head.StatusCode is 204 or 304)
        {
            return BodyFraming.None;
        }

        if (head.Chunked)
        {
            return BodyFraming.Chunked;
        }

        return head.ContentLength switch
        {
            0 => BodyFraming.None,
            > 0 => BodyFraming.ContentLength,
            _ => BodyFraming.UntilClose,
        };
    }

    private async ValueTask<bool> FinishRequestBodyAsync(Task bodyTask, BackendConnection connection)
    {
        if (!bodyTask.IsCompleted && !_requestBodyRead)
        {
            SocketIo.Abort(connection.Channel);
            _clientReader.CancelPendingRead();
        }

        try
        {
            await bodyTask.ConfigureAwait(false);
            return !bodyTask.IsCanceled;
        }
        catch (Exception ex) when (IsExpectedNetworkError(ex) || ex is InvalidDataException)
        {
            return false;
        }
    }

    /// <summary>
    /// A backend connection for the routed request through the connector (pick, health, slot, reuse or connect, retries
    /// on connect failures), or null once lb's own answer (502, 503) is sent.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<BackendConnection?> AcquireBackendAsync(PoolSnapshot pool, int firstAttempt = 0, BackendState? avoid = null) // health: retries start later
    {
        if (firstAttempt == 0)
        {
            StartTries(); // health: what may be retried (Http1Connection.Health.cs)
        }

        var connection = await _connector.AcquireAsync(new UpstreamRequest
        {
            Pool = pool,
            Tenant = _exchange.Tenant?.State,
            HashKey = _exchange.HashKey,
            Client = _clientEndPoint,
            MayReuse = true,

            // A request without a body can be replayed on a fresh connection if the pooled one turns out stale, so only
            // requests with a body pay for the liveness poll.
            ProbePooled = _requestFraming != BodyFraming.None,
            FirstAttempt = firstAttempt,
            Avoid = avoid,
        }).ConfigureAwait(false);
        _attempt = _connector.Attempt;
        _exchange.Backend = connection?.Backend;
        if (connection is not null)
        {
            _backendConnection = connection;
            return connection;
        }

        if (_connector.Failure == UpstreamFailure.Busy)
        {
            await RefuseBackendBusyAsync().ConfigureAwait(false);
            return null;
        }

        var unreachable = _connector.Failure == UpstreamFailure.Unreachable;
        SetCloseReason(unreachable ? CloseReason.BackendConnectFailed : CloseReason.NoBackend);
        _replyCause = unreachable ? LocalReplies.BackendUnreachable : LocalReplies.NoBackend;
        await SendCannedAsync(_replyCause.Status, _listener.Snapshot).ConfigureAwait(false);
        return null;
    }

    private async ValueTask<bool> TrySendAsync(IConnection socket, ReadOnlyMemory<byte> data)
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

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<HeadOutcome> ReadResponseHeadAsync(BackendConnection connection, TimeSpan timeout)
    {
        ArmTimer(_backendTimer, timeout);
        var reader = connection.Reader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(_backendTimer).ConfigureAwait(false);
                var buffer = result.Buffer;
                if (buffer.IsEmpty && (result.IsCompleted || result.IsCanceled))
                {
                    reader.AdvanceTo(buffer.End);
                    return HeadOutcome.Closed;
                }

                var status = ParseHead(buffer, isRequest: false, ResponseLimits);
                if (status == HeadParseStatus.Complete)
                {
                    _pendingBuffer = buffer;
                    return HeadOutcome.Complete;
                }

                if (status == HeadParseStatus.Invalid || result.IsCompleted)
                {
                    reader.AdvanceTo(buffer.End);
                    return HeadOutcome.Invalid;
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        catch (OperationCanceledException) when (_backendTimer.IsCancellationRequested)
        {
            return HeadOutcome.Timeout;
        }
        catch (Exception ex) when (ex is SocketException or IOException or ObjectDisposedException)
        {
            return HeadOutcome.Closed;
        }
    }

    /// <summary>After a 101, both directions become raw byte pumps until either side closes (or the drain aborts them).</summary>
    private async ValueTask TunnelAsync(BackendConnection connection)
    {
        var head = _pendingBuffer.Slice(0, _head.HeadLength);
        await SocketIo.SendAsync(_client, head, _backendTimer).ConfigureAwait(false);
        connection.Reader.AdvanceTo(head.End);
        _pendingBuffer = default;
        _headMemory = default;
        DisarmTimer(_backendTimer);
        DisarmTimer(_clientTimer);

        try
        {
            await DuplexPump.RunAsync(_clientReader, _client, connection.Reader, connection.Channel).ConfigureAwait(false);
            SetCloseReason(CloseReason.UpgradeEnded);
        }
        finally
        {
            // The tunnel used the connection up: closed, but not a discard (it was never going back to the pool).
            _backendConnection = null;
            connection.Backend.ExitInFlight();
            connection.Dispose();
        }
    }
}
