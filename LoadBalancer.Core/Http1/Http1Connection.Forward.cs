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
            HashKey = _hashKey is null ? default : _hashKey.AsMemory(0, _hashKeyLength),
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

    /// <summary>
    /// Copies the request body. If the copy fails — a malformed chunked body (found only while streaming it), a client
    /// that stalls past body_idle, or one that goes away — the exchange ends: the backend connection is shut down so
    /// the wait for its response ends now, and the client is answered 400 (RFC 9112 section 7.1) or 408, instead of
    /// waiting out the response-head timeout for an answer to a body the backend never got in full.
    /// </summary>
    private async Task ForwardRequestBodyAsync(IConnection backend, TimeSpan idle)
    {
        try
        {
            await ForwardBodyAsync(_clientReader, backend, _requestFraming, _requestLength, _clientTimer, idle).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidDataException || IsExpectedNetworkError(ex))
        {
            _requestBodyInvalid = ex is InvalidDataException;
            _requestBodyTimedOut = ex is OperationCanceledException && _clientTimer.IsCancellationRequested;
            _requestBodyFailed = true;
            try
            {
                backend.Shutdown(SocketShutdown.Both);
            }
            catch (Exception shutdownError) when (shutdownError is SocketException or ObjectDisposedException)
            {
                // The backend side is already gone: the response wait ends anyway.
            }

            throw;
        }
    }

    private async ValueTask FailResponseAsync(HeadOutcome outcome, ListenerSnapshot listener, BackendConnection connection, PoolSnapshot pool, Task? bodyTask)
    {
        _replyCause = _exchange.BodyTooLarge ? LocalReplies.BodyTooLarge // tenancy: 413 for an oversized chunked body
            : _requestBodyInvalid ? LocalReplies.BadChunkedBody
            : _requestBodyTimedOut ? LocalReplies.BodyTimeout
            : outcome switch
            {
                HeadOutcome.Timeout => LocalReplies.BackendTimeout,
                HeadOutcome.Invalid => LocalReplies.BackendInvalid,
                _ => LocalReplies.BackendClosed,
            };
        var status = _replyCause.Status;
        SetCloseReason(_requestBodyInvalid ? CloseReason.BadRequest : _requestBodyTimedOut ? CloseReason.BodyTimeout : _requestBodyFailed ? CloseReason.ClientReset : outcome switch
        {
            HeadOutcome.Timeout => CloseReason.BackendResponseTimeout,
            HeadOutcome.Invalid => CloseReason.BackendInvalidResponse,
            _ => CloseReason.BackendClosed,
        });
        if (outcome == HeadOutcome.Invalid)
        {
            Log.BackendInvalidResponse(_logger, connection.Backend.Config.Address, pool.Name, _head.ErrorReason ?? "malformed head");
        }

        // A failure the client caused (its body broke, stalled or was too large) says nothing about the backend.
        if (!_requestBodyFailed && !_exchange.BodyTooLarge)
        {
            OnBackendFailed(pool, connection.Backend); // health: passive check
        }

        // Never reuse a backend connection whose framing is in doubt.
        _backendConnection = null;
        connection.Backend.ExitInFlight();
        connection.Discard(_requestBodyFailed || _exchange.BodyTooLarge ? DiscardReason.RequestUnfinished
            : outcome == HeadOutcome.Timeout ? DiscardReason.ResponseTimeout
            : DiscardReason.InvalidResponse);
        if (bodyTask is not null)
        {
            _clientReader.CancelPendingRead();
            try
            {
                await bodyTask.ConfigureAwait(false);
            }
            catch (Exception ex) when (IsExpectedNetworkError(ex) || ex is InvalidDataException)
            {
                // The backend side is gone; the body copy ends with it.
            }
        }

        if (_requestBodyTimedOut)
        {
            // The client timer has fired, so its token cannot bound this send; the untimed variant caps it instead.
            await SendCannedUntimedAsync(status).ConfigureAwait(false);
            return;
        }

        await SendCannedAsync(status, listener).ConfigureAwait(false);
    }

    /// <summary>
    /// Copies one message body from <paramref name="reader"/> to <paramref name="destination"/> as raw bytes, delimited by
    /// its framing: Content-Length counts down, chunked walks only the chunk-size lines, close-delimited runs to EOF.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder))]
    private async ValueTask ForwardBodyAsync(SocketReader reader, IConnection destination, BodyFraming framing, long length, DeadlineTimer timer, TimeSpan idle)
    {
        var decoder = default(ChunkedDecoder);
        var remaining = length;
        while (true)
        {
            var result = await ReadBodyBytesAsync(reader, timer, idle).ConfigureAwait(false);
            var buffer = result.Buffer;

            long take;
            bool done;
            switch (framing)
            {
                case BodyFraming.ContentLength:
                    take = Math.Min(buffer.Length, remaining);
                    remaining -= take;
                    done = remaining == 0;
                    break;
                case BodyFraming.Chunked:
                    try
                    {
                        take = WalkChunks(ref decoder, buffer, out done);
                    }
                    catch (InvalidDataException) when (NoteReadFailure(reader, timer))
                    {
                        throw;
                    }

                    break;
                default:
                    take = buffer.Length;
                    done = result.IsCompleted;
                    break;
            }

            if (done && reader == _clientReader)
            {
                // The whole request body is read from the client: whatever the backend answers, the client connection
                // is positioned at the next request, even if this last send is still completing.
                _requestBodyRead = true;
            }

            if (take > 0)
            {
                CountBodyBytes(destination, take); // tenancy: bytes in/out, max_body_bytes for chunked bodies
                await SocketIo.SendAsync(destination, buffer.Slice(0, take), timer).ConfigureAwait(false);
            }

            reader.AdvanceTo(buffer.GetPosition(take));
            if (done)
            {
                return;
            }

            if (result.IsCompleted)
            {
                NoteReadFailure(reader, timer);
                throw new IOException("The peer closed the connection in the middle of a body.");
            }
        }
    }

    /// <summary>One read of body bytes under the body-idle deadline; a cancelled read (the exchange is over) throws.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<ReadResult> ReadBodyBytesAsync(SocketReader reader, DeadlineTimer timer, TimeSpan idle)
    {
        ArmTimer(timer, idle);
        ReadResult result;
        try
        {
            result = await reader.ReadAsync(timer).ConfigureAwait(false);
        }
        catch (Exception) when (NoteReadFailure(reader, timer))
        {
            throw;
        }

        if (result.IsCanceled)
        {
            reader.AdvanceTo(result.Buffer.Start);
            throw new OperationCanceledException();
        }

        return result;
    }

    /// <summary>
    /// Copies a chunked response body to an HTTP/1.0 client as its bare content (trailers dropped): chunk data is
    /// gathered in <see cref="_out"/> (free once the head is sent) and sent when it fills or the read buffer is used up.
    /// The connection close ends the body for the client (the head said Connection: close).
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder))]
    private async ValueTask ForwardDechunkedAsync(SocketReader reader, DeadlineTimer timer, TimeSpan idle)
    {
        var decoder = default(ChunkedDecoder);
        var staging = _out!;
        while (true)
        {
            var result = await ReadBodyBytesAsync(reader, timer, idle).ConfigureAwait(false);
            var buffer = result.Buffer;

            var (taken, staged, done) = TakeContent(ref decoder, buffer, staging, out var invalid);
            if (invalid)
            {
                NoteReadFailure(reader, timer);
                throw new InvalidDataException("Malformed chunked body.");
            }

            if (staged > 0)
            {
                CountBodyBytes(_client, staged); // tenancy: bytes out
                await SocketIo.SendAsync(_client, staging.AsMemory(0, staged), timer).ConfigureAwait(false);
            }

            reader.AdvanceTo(buffer.GetPosition(taken));
            if (done)
            {
                return;
            }

            if (result.IsCompleted && taken == buffer.Length)
            {
                NoteReadFailure(reader, timer);
                throw new IOException("The peer closed the connection in the middle of a body.");
            }
        }
    }

    /// <summary>
    /// Walks <paramref name="buffer"/> with the decoder, copying chunk data into <paramref name="staging"/> until it is
    /// full: returns the bytes of the buffer taken, the content bytes staged, and whether the body ended.
    /// </summary>
    private static (long Taken, int Staged, bool Done) TakeContent(ref ChunkedDecoder decoder, in ReadOnlySequence<byte> buffer, byte[] staging, out bool invalid)
    {
        long taken = 0;
        var staged = 0;
        invalid = false;
        foreach (var segment in buffer)
        {
            var span = segment.Span;
            while (!span.IsEmpty)
            {
                var room = staging.Length - staged;
                if (room == 0)
                {
                    return (taken, staged, false);
                }

                var status = decoder.AdvanceContent(span[..Math.Min(span.Length, room)], out var consumed, out var content);
                span.Slice(consumed - content, content).CopyTo(staging.AsSpan(staged));
                staged += content;
                taken += consumed;
                span = span[consumed..];
                if (status == ChunkedStatus.Done)
                {
                    return (taken, staged, true);
                }

                if (status == ChunkedStatus.Invalid)
                {
                    invalid = true;
                    return (taken, staged, false);
                }
            }
        }

        return (taken, staged, false);
    }

    /// <summary>
    /// For an exception filter: a response body that broke off, timed out or turned malformed leaves the backend
    /// connection with unknown framing. Records why it is closed; never catches (returns false).
    /// </summary>
    private bool NoteReadFailure(SocketReader reader, DeadlineTimer timer)
    {
        if (reader != _clientReader)
        {
            _discardReason = timer.IsCancellationRequested ? DiscardReason.ResponseTimeout : DiscardReason.InvalidResponse;
        }

        return false;
    }

    private static long WalkChunks(ref ChunkedDecoder decoder, in ReadOnlySequence<byte> buffer, out bool done)
    {
        long total = 0;
        foreach (var segment in buffer)
        {
            var status = decoder.Advance(segment.Span, out var consumed);
            total += consumed;
            if (status == ChunkedStatus.Done)
            {
                done = true;
                return total;
            }

            if (status == ChunkedStatus.Invalid)
            {
                throw new InvalidDataException("Malformed chunked body.");
            }
        }

        done = false;
        return total;
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
