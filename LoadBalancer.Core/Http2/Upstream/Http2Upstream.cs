using System.Buffers;
using System.Globalization;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Http1;
using LoadBalancer.Core.Metrics;
using LoadBalancer.Core.Proxy;
using LoadBalancer.Core.Proxy.Upstream;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Transport;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Core.Http2.Upstream;

/// <summary>
/// The upstream exchange for a pool with <c>protocol = "h2"</c>, for either client codec: the same connector (pick,
/// health, slot, fair share, retries on failed connects), then a stream on a multiplexed HTTP/2 connection to the
/// picked backend instead of a pooled HTTP/1 connection. The request head and body and the response go through the
/// same <see cref="IDownstream"/> calls as over HTTP/1: the response head is translated to HTTP/1 and parsed, so the
/// client codecs, route edits, accounting and the access log see one response model. A stream the backend refused
/// (REFUSED_STREAM, or above a GOAWAY's last-stream-id) is sent again when the request is retryable, else 502.
/// One per <see cref="Http1Upstream"/>, created at its first h2 request and reused.
/// </summary>
internal sealed class Http2Upstream : IBackendOpener
{
    private static readonly HttpLimits HeadLimits = new() { MaxHeadBytes = 64 * 1024, MaxHeaders = 256 };
    private const int StagingSize = 16 * 1024;

    // A chunk-size line for a staged run (at most 4 hex digits: StagingSize) and its CRLF fit before and after it.
    private const int ChunkPrefix = 8;
    private const int ChunkSuffix = 2;

    private readonly ProxyEngine _engine;
    private readonly ProxyExchange _exchange;
    private readonly BackendConnector _connector;
    private readonly DeadlineTimer _timer;
    private readonly ILogger _logger;
    private readonly Http1HeadState _heads = new();
    private readonly Http2RequestBody _body = new();
    private Http2BackendStream? _stream;
    private Http2BackendSession? _session;
    private int _inFlightToken;
    private PoolSnapshot? _pool;
    private PoolTimeouts _timeouts = PoolTimeouts.Default;
    private TimeSpan _sendTimeout;

    public Http2Upstream(ProxyEngine engine, ProxyExchange exchange, BackendConnector connector, DeadlineTimer timer)
    {
        _engine = engine;
        _exchange = exchange;
        _connector = connector;
        _timer = timer;
        _logger = engine.Logger;
    }

    private enum HeadWait
    {
        Head,
        Refused,
        Failed,
        Malformed,
        Timeout,
    }

    /// <summary>The engine's abort, or the client reset its stream: the backend stream stops (its connection carries on).</summary>
    public void Abort() => _stream?.Fail(Http2BackendStream.Outcome.Reset);

    /// <summary>As <see cref="Http1Upstream.ForwardAsync"/>: returns whether the client connection stays open.</summary>
    public async ValueTask<bool> ForwardAsync(IDownstream downstream, ListenerSnapshot listener, PoolSnapshot pool, PoolTimeouts timeouts, TimeSpan? clientDeadline)
    {
        _pool = pool;
        _timeouts = timeouts;
        _sendTimeout = listener.Timeouts.BodyIdle;
        _stream ??= new Http2BackendStream(emptyBodyLength: !downstream.TakesTrailers);
        var clientDeadlineBinds = clientDeadline is { } deadline && deadline < timeouts.ResponseHead;
        var responseHead = clientDeadlineBinds ? clientDeadline!.Value : timeouts.ResponseHead;
        var framing = downstream.RequestFraming;

        if (_heads.Parse(new ReadOnlySequence<byte>(downstream.RequestHead), isRequest: true, HeadLimits) != HeadParseStatus.Complete)
        {
            _heads.Release();
            await downstream.ReplyAsync(LocalReplies.Internal, CloseReason.BadRequest, clientTimerFired: false).ConfigureAwait(false);
            return false;
        }

        var contentLength = _heads.Head.ContentLength;
        var block = EngineBuffers.Rent(Http2RequestEncoder.MaxLength(_heads.Head.HeadLength, _heads.Head.HeaderCount));
        var blockLength = Http2RequestEncoder.Encode(_heads.Memory.Span, _heads.Head, _heads.Headers.AsSpan(0, _heads.Head.HeaderCount), https: pool.Tls is not null, block);
        _heads.Release();
        Task? bodyTask = null;
        try
        {
            var attempt = 0;
            BackendState? avoid = null;
            var refusals = 0;
            HeadWait wait;
            while (true)
            {
                _stream.Reset();
                if (!await AcquireAsync(downstream, pool, attempt, avoid).ConfigureAwait(false))
                {
                    return false;
                }

                attempt = _connector.Attempt;
                var session = _session!;
                _exchange.Backend = session.Backend;
                if (!await session.OpenStreamAsync(_stream, block.AsMemory(0, blockLength), endStream: framing == BodyFraming.None).ConfigureAwait(false))
                {
                    // Nothing of the request went out (the connection is gone or going away): any request may try again.
                    await ReleaseAsync(opened: _stream.Id != 0).ConfigureAwait(false);
                    if (++refusals <= 2)
                    {
                        continue;
                    }

                    await FailAsync(downstream, HeadWait.Failed, session.Backend, pool, clientDeadlineBinds, bodyTask: null).ConfigureAwait(false);
                    return false;
                }

                if (framing == BodyFraming.None)
                {
                    _stream.RequestEnded();
                }
                else
                {
                    if (downstream.ExpectsContinue)
                    {
                        await downstream.SendContinueAsync().ConfigureAwait(false);
                    }

                    bodyTask = downstream.StartRequestBody(_body.Bind(session, _stream, framing, contentLength, listener.Timeouts.BodyIdle));
                }

                wait = await WaitForHeadAsync(responseHead).ConfigureAwait(false);
                if (wait == HeadWait.Refused && bodyTask is null && downstream.Retryable && ++refusals <= 2)
                {
                    // Never processed by the backend (RFC 9113 section 8.7): the same request again, on another connection.
                    await ReleaseAsync(opened: true).ConfigureAwait(false);
                    avoid = null;
                    continue;
                }

                break;
            }

            if (wait != HeadWait.Head)
            {
                await FailAsync(downstream, wait, _session!.Backend, pool, clientDeadlineBinds, bodyTask).ConfigureAwait(false);
                return false;
            }

            return await RelayResponseAsync(downstream, listener, pool, bodyTask).ConfigureAwait(false);
        }
        finally
        {
            EngineBuffers.Return(block);
            if (_session is not null)
            {
                await ReleaseAsync(opened: _stream.Id != 0).ConfigureAwait(false);
            }

            _body.Unbind();
            _heads.Release();
            _pool = null;
        }
    }

    private async ValueTask<bool> AcquireAsync(IDownstream downstream, PoolSnapshot pool, int attempt, BackendState? avoid)
    {
        await _connector.AcquireAsync(new UpstreamRequest
        {
            Pool = pool,
            Timeouts = _timeouts,
            Tenant = _exchange.Tenant?.State,
            HashKey = _exchange.HashKey,
            TlsHost = _exchange.TlsHost,
            MayReuse = true,
            FirstAttempt = attempt,
            Avoid = avoid,
            Opener = this,
        }).ConfigureAwait(false);
        if (_connector.Failure == UpstreamFailure.None && _session is not null)
        {
            return true;
        }

        _exchange.Backend = null;
        if (_connector.Failure == UpstreamFailure.Busy)
        {
            _exchange.NoteRefusal(Tenancy.RefusalReason.BackendBusy);
            await downstream.ReplyAsync(LocalReplies.PoolBusy, CloseReason.BackendBusy, clientTimerFired: false).ConfigureAwait(false);
            return false;
        }

        var unreachable = _connector.Failure == UpstreamFailure.Unreachable;
        await downstream.ReplyAsync(
            unreachable ? LocalReplies.BackendUnreachable : LocalReplies.NoBackend,
            unreachable ? CloseReason.BackendConnectFailed : CloseReason.NoBackend,
            clientTimerFired: false).ConfigureAwait(false);
        return false;
    }

    /// <summary>
    /// A stream on a connection to <paramref name="backend"/> with room under its stream limit (and of the request's TLS
    /// name), else a new connection: connected by the connector, ALPN h2 checked, the backend's SETTINGS awaited.
    /// </summary>
    async ValueTask<bool> IBackendOpener.OpenAsync(BackendConnector connector, BackendState backend, int inFlightToken, ReadOnlyMemory<byte> tlsHost)
    {
        var set = backend.Http2Sessions;
        var session = set.TryReserve(tlsHost.Span);
        if (session is not null)
        {
            _session = session;
            _inFlightToken = inFlightToken;
            return true;
        }

        if (!await set.Connecting.WaitAsync(_timeouts.Connect).ConfigureAwait(false))
        {
            return false;
        }

        try
        {
            return await ConnectAsync(connector, backend, set, inFlightToken, tlsHost).ConfigureAwait(false);
        }
        finally
        {
            set.Connecting.Release();
        }
    }

    private async ValueTask<bool> ConnectAsync(BackendConnector connector, BackendState backend, Http2SessionSet set, int inFlightToken, ReadOnlyMemory<byte> tlsHost)
    {
        // Another request may have made a connection with room while this one waited.
        var session = set.TryReserve(tlsHost.Span);
        if (session is null)
        {
            var pool = _pool!;
            var connection = await connector.ConnectAsync(backend, pool, client: null, _timeouts.Connect, tlsHost).ConfigureAwait(false);
            if (connection is null)
            {
                return false;
            }

            if (connection.Tls is { NegotiatedHttp2: false })
            {
                Log.BackendTlsFailed(_logger, backend.Config.Address, pool.Name, "the backend did not select ALPN h2");
                connection.Discard(DiscardReason.InvalidResponse);
                return false;
            }

            session = new Http2BackendSession(_engine, connection, set, pool.Timeouts, _sendTimeout);
            if (!await session.StartAsync(_timeouts.Connect).ConfigureAwait(false))
            {
                Log.BackendInvalidResponse(_logger, backend.Config.Address, pool.Name, "no HTTP/2 SETTINGS from the backend");
                return false;
            }

            set.Add(session);
            if (!session.TryReserve())
            {
                return false;
            }
        }

        _session = session;
        _inFlightToken = inFlightToken;
        return true;
    }

    private async ValueTask ReleaseAsync(bool opened)
    {
        var session = _session;
        if (session is null)
        {
            return;
        }

        _session = null;
        session.Backend.ExitInFlight(_inFlightToken);
        await session.ReleaseAsync(_stream!, opened).ConfigureAwait(false);
        _stream!.ReturnBuffers();
    }

    private async ValueTask<HeadWait> WaitForHeadAsync(TimeSpan timeout)
    {
        var stream = _stream!;
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (!stream.HasHead && !stream.Failed)
        {
            var left = deadline - Environment.TickCount64;
            if (left <= 0 || !await stream.WaitAsync(TimeSpan.FromMilliseconds(left)).ConfigureAwait(false))
            {
                if (!stream.HasHead && !stream.Failed)
                {
                    return HeadWait.Timeout;
                }
            }
        }

        return stream.HasHead ? HeadWait.Head
            : stream.Failure switch
            {
                Http2BackendStream.Outcome.Refused => HeadWait.Refused,
                Http2BackendStream.Outcome.Malformed => HeadWait.Malformed,
                _ => HeadWait.Failed,
            };
    }

    /// <summary>lb answers for a backend that gave no usable head: passive health hears of it, unless the client's own deadline passed.</summary>
    private async ValueTask FailAsync(IDownstream downstream, HeadWait wait, BackendState backend, PoolSnapshot pool, bool clientDeadlineBinds, Task? bodyTask)
    {
        var (cause, reason) = _exchange.BodyTooLarge ? (LocalReplies.BodyTooLarge, CloseReason.BadRequest)
            : wait switch
            {
                HeadWait.Timeout when clientDeadlineBinds => (LocalReplies.DeadlineExceeded, CloseReason.BackendResponseTimeout),
                HeadWait.Timeout => (LocalReplies.BackendTimeout, CloseReason.BackendResponseTimeout),
                HeadWait.Malformed => (LocalReplies.BackendInvalid, CloseReason.BackendInvalidResponse),
                _ => (LocalReplies.BackendClosed, CloseReason.BackendClosed),
            };
        downstream.SetCloseReason(reason);
        if (wait == HeadWait.Malformed)
        {
            Log.BackendInvalidResponse(_logger, backend.Config.Address, pool.Name, "malformed HTTP/2 response");
        }

        if (!_exchange.BodyTooLarge && !(wait == HeadWait.Timeout && clientDeadlineBinds))
        {
            pool.RecordFailure(backend, _logger); // health: passive check
        }

        await ReleaseAsync(opened: true).ConfigureAwait(false);
        await FinishBodyAsync(downstream, bodyTask).ConfigureAwait(false);
        await downstream.ReplyAsync(cause, reason, clientTimerFired: false).ConfigureAwait(false);
    }

    /// <summary>Ends the request body copy; false when it had not finished (cut short, or failed).</summary>
    private static async ValueTask<bool> FinishBodyAsync(IDownstream downstream, Task? bodyTask)
    {
        if (bodyTask is null)
        {
            return true;
        }

        if (!bodyTask.IsCompleted)
        {
            downstream.CancelRequestBody();
        }

        try
        {
            await bodyTask.ConfigureAwait(false);
            return !bodyTask.IsCanceled;
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or OperationCanceledException or InvalidDataException or TimeoutException)
        {
            return false;
        }
    }

    private async ValueTask<bool> RelayResponseAsync(IDownstream downstream, ListenerSnapshot listener, PoolSnapshot pool, Task? bodyTask)
    {
        var stream = _stream!;
        var session = _session!;
        if (_heads.Parse(new ReadOnlySequence<byte>(stream.Head), isRequest: false, HeadLimits) != HeadParseStatus.Complete)
        {
            await FailAsync(downstream, HeadWait.Malformed, session.Backend, pool, clientDeadlineBinds: false, bodyTask).ConfigureAwait(false);
            return false;
        }

        var status = _heads.Head.StatusCode;
        if (status >= 500)
        {
            pool.RecordFailure(session.Backend, _logger); // health: passive check (5xx counts as a failure)
        }
        else
        {
            session.Backend.RecordSuccess();
        }

        var framing = downstream.IsHeadRequest || status is 204 or 304 || stream.HeadEndsStream ? BodyFraming.None
            : _heads.Head.Chunked ? BodyFraming.Chunked
            : _heads.Head.ContentLength > 0 ? BodyFraming.ContentLength
            : BodyFraming.None;
        var response = new ResponseHeadView(_heads.Memory, _heads.Head, _heads.Headers!, framing);
        var bodyIdle = listener.Timeouts.BodyIdle;
        _timer.Arm(bodyIdle);
        var relay = await downstream.SendResponseHeadAsync(response, default, bodyStartIsWhole: false, requestUnfinished: bodyTask is { IsCompleted: false }, _timer).ConfigureAwait(false);
        _heads.Release();
        var chunked = relay == ResponseBodyRelay.AsIs && framing == BodyFraming.Chunked;
        if (framing != BodyFraming.None)
        {
            await RelayBodyAsync(downstream, stream, session, chunked, bodyIdle).ConfigureAwait(false);
            if (chunked)
            {
                await SendLastChunkAsync(downstream, stream.Trailers).ConfigureAwait(false);
            }
            else if (relay == ResponseBodyRelay.Dechunked && downstream.TakesTrailers && stream.Trailers.Length > 0)
            {
                await downstream.SendTrailersAsync(stream.Trailers, _timer).ConfigureAwait(false);
            }
        }

        _timer.Disarm();
        var requestUnfinished = !await FinishBodyAsync(downstream, bodyTask).ConfigureAwait(false);
        return downstream.EndResponse(requestUnfinished);
    }

    /// <summary>
    /// The response DATA as it arrives, to the client (chunk-framed for an HTTP/1.1 client), each run's window given back
    /// once it is sent: a client that reads slowly slows its backend stream only.
    /// </summary>
    private async ValueTask RelayBodyAsync(IDownstream downstream, Http2BackendStream stream, Http2BackendSession session, bool chunked, TimeSpan bodyIdle)
    {
        var staging = EngineBuffers.Rent(StagingSize + ChunkPrefix + ChunkSuffix);
        try
        {
            while (true)
            {
                var taken = stream.TakeData(staging.AsSpan(ChunkPrefix, StagingSize), out var ended);
                if (taken > 0)
                {
                    _exchange.CountResponseBytes(taken); // tenancy: bytes out
                    var start = ChunkPrefix;
                    var length = taken;
                    if (chunked)
                    {
                        // The size line goes right before the data, so the chunk leaves in one send.
                        var digits = taken <= 0xF ? 1 : taken <= 0xFF ? 2 : taken <= 0xFFF ? 3 : taken <= 0xFFFF ? 4 : 5;
                        start = ChunkPrefix - digits - 2;
                        taken.TryFormat(staging.AsSpan(start, digits), out _, "x", CultureInfo.InvariantCulture);
                        staging[ChunkPrefix - 2] = (byte)'\r';
                        staging[ChunkPrefix - 1] = (byte)'\n';
                        staging[ChunkPrefix + taken] = (byte)'\r';
                        staging[ChunkPrefix + taken + 1] = (byte)'\n';
                        length = taken + digits + 4;
                    }

                    await downstream.SendBodyAsync(staging.AsMemory(start, length), _timer).ConfigureAwait(false);
                    _timer.Arm(bodyIdle);
                    if (stream.TakeGrant() is var grant and > 0)
                    {
                        await session.GrantAsync(stream, grant).ConfigureAwait(false);
                    }

                    continue;
                }

                if (ended)
                {
                    return;
                }

                if (stream.Failed)
                {
                    throw new IOException("The backend's HTTP/2 stream ended in the middle of the response body.");
                }

                // Padding takes window and brings no bytes to relay: DATA that is mostly (or only) padding must still
                // get its window back, or a backend that pads fills the stream window and stalls (RFC 9113 section 6.1).
                if (stream.TakeGrant() is var owed and > 0)
                {
                    await session.GrantAsync(stream, owed).ConfigureAwait(false);
                }

                if (!stream.HasNews && !await stream.WaitAsync(bodyIdle).ConfigureAwait(false) && !stream.HasNews)
                {
                    throw new IOException("The backend sent no response DATA within body_idle.");
                }
            }
        }
        finally
        {
            EngineBuffers.Return(staging);
        }
    }

    /// <summary>The last chunk, the trailer lines and the final CRLF, in one send.</summary>
    private async ValueTask SendLastChunkAsync(IDownstream downstream, ReadOnlyMemory<byte> trailers)
    {
        var buffer = EngineBuffers.Rent(trailers.Length + 5);
        try
        {
            "0\r\n"u8.CopyTo(buffer);
            trailers.Span.CopyTo(buffer.AsSpan(3));
            "\r\n"u8.CopyTo(buffer.AsSpan(3 + trailers.Length));
            await downstream.SendBodyAsync(buffer.AsMemory(0, trailers.Length + 5), _timer).ConfigureAwait(false);
        }
        finally
        {
            EngineBuffers.Return(buffer);
        }
    }
}
