using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text;
using LoadBalancer.Core.Balancing;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Metrics;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;
using LoadBalancer.Core.Transport;

using LoadBalancer.Core.Async;
using LoadBalancer.Core.Proxy;

namespace LoadBalancer.Core.Http1;

internal sealed partial class Http1Connection
{
    private static readonly TimeSpan LateAnswerTimeout = TimeSpan.FromSeconds(1);

    // Per-request state. Buffers are rented when a head arrives and returned when its response is done, so an idle
    // keep-alive connection holds none. The head state is shared with the upstream, which parses the response into it.
    private byte[]? _out;
    private int _outLength;
    private PoolSnapshot? _pool;
    private BodyFraming _requestFraming;
    private long _requestLength;
    private bool _isHeadRequest;
    private UpgradeOffer _upgrade;
    private bool _clientWantsClose;
    private bool _clientIsHttp10;
    private bool _expectContinue;

    // lb's own answer to this request, when it gives one: the cause, whether the client accepts JSON, and (for a 421,
    // which names request bytes) the answer already encoded at the start of _out.
    private LocalReplyCause? _replyCause;
    private bool _wantsJson;
    private int _replyLength;

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> HandleRequestAsync()
    {
        var listener = _listener.Snapshot;
        _replyCause = null;
        _wantsJson = false;
        _replyLength = 0;
        var outcome = await ReadRequestHeadAsync(listener).ConfigureAwait(false);
        switch (outcome)
        {
            case HeadOutcome.Closed:
                SetCloseReason(CloseReason.ClientClosed);
                return false;
            case HeadOutcome.Timeout:
                return false;
            case HeadOutcome.Http2Preface:
                await RunHttp2Async().ConfigureAwait(false);
                return false;
            case HeadOutcome.Invalid:
                // The parser's constant reason names the rule ("more than one Host header field"); the head's own
                // fields (Accept included) are not trusted, so the answer is text/plain.
                SetCloseReason(CloseReason.BadRequest);
                _replyCause = LocalReplies.ForHeadError(Heads.Head.ErrorStatus, Heads.Head.ErrorReason);
                await SendCannedAsync(_replyCause.Status, listener).ConfigureAwait(false);
                return false;
        }

        // Route by the config live now that the head is complete, not the one live when this keep-alive connection
        // began to wait: a reload in between must apply to this request (the head was read under the old limits).
        listener = _listener.Snapshot;
        var status = RouteAndWriteRequestHead(listener);
        _clientReader.AdvanceTo(Heads.Pending.GetPosition(Heads.Head.HeadLength));
        Heads.Pending = default;
        Heads.Memory = default;
        if (status != 0 && CanKeepAliveAfterRefusal(status))
        {
            ClearCloseReason();
            var response = LocalReplyBytes(status, close: false);
            OnResponseSent(status, response.Length); // tenancy: usage accounting

            // Account and log the request before the client can see the answer (and perhaps close at once); an
            // answer encoded into _out keeps that buffer until it is sent.
            var owned = DetachReplyBuffer(response);
            ReleaseRequestResources(reuseBackend: false);
            try
            {
                ArmTimer(_clientTimer, listener.Timeouts.BodyIdle);
                await SocketIo.SendAsync(_client, response, _clientTimer).ConfigureAwait(false);
                return true;
            }
            catch (Exception ex) when (IsExpectedNetworkError(ex))
            {
                return false;
            }
            finally
            {
                if (owned is not null)
                {
                    EngineBuffers.Return(owned);
                }
            }
        }

        if (status != 0)
        {
            SetCloseReason(status == 421 ? CloseReason.UnknownTenant : CloseReason.BadRequest);
            await SendCannedAsync(status, listener).ConfigureAwait(false);
            return false;
        }

        _requestListener = listener;
        var keepAlive = await Upstream.ForwardAsync(listener, _pool!, Exchange.Route!.Timeouts).ConfigureAwait(false);
        ReleaseRequestResources(reuseBackend: false);
        return keepAlive;
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<HeadOutcome> ReadRequestHeadAsync(ListenerSnapshot listener)
    {
        var timeouts = listener.Timeouts;
        var headStarted = false;

        // Whether the bytes so far already rule out the HTTP/2 preface (checked once per request head, as it arrives).
        var headStarted2 = false;
        _waitingForRequest = true;
        try
        {
            if (_listener.IsClosing)
            {
                SetCloseReason(CloseReason.Draining);
                return HeadOutcome.Closed;
            }

            ArmTimer(_clientTimer, timeouts.KeepAlive);
            while (true)
            {
                var result = await _clientReader.ReadAsync(_clientTimer).ConfigureAwait(false);
                var buffer = result.Buffer;
                if (result.IsCanceled)
                {
                    _clientReader.AdvanceTo(buffer.Start);
                    return HeadOutcome.Closed;
                }

                if (!headStarted && !buffer.IsEmpty)
                {
                    // request_head is a deadline for the whole head from its first byte, not an idle timer (slowloris).
                    headStarted = true;
                    _waitingForRequest = false;
                    ArmTimer(_clientTimer, timeouts.RequestHead);
                }

                if (buffer.IsEmpty && result.IsCompleted)
                {
                    _clientReader.AdvanceTo(buffer.End);
                    return HeadOutcome.Closed;
                }

                if (listener.Http2 && !headStarted2 && Core.Http2.Http2Preface.Match(buffer) is var preface && preface >= 0)
                {
                    if (preface == 1)
                    {
                        _clientReader.AdvanceTo(buffer.Start);
                        return HeadOutcome.Http2Preface;
                    }

                    if (!result.IsCompleted)
                    {
                        _clientReader.AdvanceTo(buffer.Start, buffer.End);
                        continue;
                    }
                }

                headStarted2 = true;
                var status = ParseHead(buffer, listener.Limits);
                if (status == HeadParseStatus.Complete)
                {
                    Heads.Pending = buffer;
                    return HeadOutcome.Complete;
                }

                if (status == HeadParseStatus.Invalid)
                {
                    _clientReader.AdvanceTo(buffer.End);
                    return HeadOutcome.Invalid;
                }

                if (result.IsCompleted)
                {
                    // The client gave up mid-head: nobody is left to answer.
                    _clientReader.AdvanceTo(buffer.End);
                    return HeadOutcome.Closed;
                }

                _clientReader.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        catch (OperationCanceledException) when (_clientTimer.IsCancellationRequested)
        {
            if (!headStarted)
            {
                SetCloseReason(CloseReason.KeepAliveTimeout);
                return HeadOutcome.Timeout;
            }

            SetCloseReason(CloseReason.RequestHeadTimeout);
            _replyCause = LocalReplies.RequestHeadTimeout;
            await SendCannedUntimedAsync(408).ConfigureAwait(false);
            return HeadOutcome.Timeout;
        }
        finally
        {
            _waitingForRequest = false;
        }
    }

    /// <summary>Parses the request head at the start of <paramref name="buffer"/> into <see cref="Heads.Head"/>.</summary>
    private HeadParseStatus ParseHead(in ReadOnlySequence<byte> buffer, HttpLimits limits)
        => Heads.Parse(buffer, isRequest: true, limits);

    /// <summary>
    /// Finds the tenant and pool, takes the hash key, and writes the head to forward into <see cref="_out"/>.
    /// Returns 0, or the status lb answers itself. Synchronous: it reads the head span, which cannot cross an await.
    /// </summary>
    private int RouteAndWriteRequestHead(ListenerSnapshot listener)
    {
        var source = Heads.Memory.Span;
        ref readonly var head = ref Heads.Head;
        var headers = Heads.Headers.AsSpan(0, head.HeaderCount);

        _clientIsHttp10 = head.MinorVersion == 0;
        _wantsJson = HeaderLookup.AcceptsJson(source, headers);
        _clientWantsClose = head.ConnectionClose;
        _expectContinue = head.ExpectContinue;
        _isHeadRequest = head.Method == Http.HttpMethod.Head;
        _requestIdempotent = IsIdempotent(head.Method);
        _upgrade = head.Upgrade ? UpgradeOffer.From(source, headers, listener.UpgradeProtocols) : UpgradeOffer.None;
        _requestFraming = Http1Request.Framing(head);
        _requestLength = head.ContentLength;

        if (head.Method == Http.HttpMethod.Connect)
        {
            _replyCause = LocalReplies.MethodNotAllowed;
            return 405;
        }

        // tenancy: tenant, connections, access key, route, rate limit, body size, in-flight; lb's own answers counted
        var request = Http1Request.View(source, head, Heads.Headers);
        var admission = Exchange.RouteRequest(listener, request, _clientIp, ref _connectionTenant, out var key);
        if (admission.CloseReason == CloseReason.UnknownTenant)
        {
            EncodeUnknownTenant(listener.TenantKey, key);
            return 421;
        }

        if (admission.Refusal is { } refusal)
        {
            SetCloseReason(admission.CloseReason);
            _replyCause = refusal;
            return admission.Status;
        }

        _pool = Exchange.Route!.Pool;
        var edits = Exchange.ForwardEdits(_https ? ((Tls.TlsConnection)_client).ClientCertificateLines : default);
        var capacity = Http1HeadWriter.RequestCapacity(head, _clientIp.Length, edits);
        RentOut(capacity);
        _outLength = Http1HeadWriter.WriteRequest(
            source,
            head,
            Heads.Headers,
            _upgrade,
            addForwarded: listener.AddForwardedHeaders,
            trustForwarded: listener.TrustForwardedHeaders,
            _clientIp,
            _out,
            edits,
            _https);
        return 0;
    }

    private void RentOut(int capacity)
    {
        if (_out is not null && _out.Length >= capacity)
        {
            return;
        }

        if (_out is not null)
        {
            EngineBuffers.Return(_out);
        }

        _out = EngineBuffers.Rent(Math.Max(capacity, 4096));
    }

    /// <summary>
    /// Ends the request: accounting, then the backend connection goes back to its pool when <paramref name="reuseBackend"/>
    /// (the response ended exactly at its framing), else it is closed (see <see cref="Http1Upstream.Release"/>).
    /// </summary>
    private void ReleaseRequestResources(bool reuseBackend)
    {
        EndRequest(); // tenancy: usage accounting and access log for the request that ends here
        _state?.Upstream.Release(reuseBackend); // and the head state's buffers
        if (_out is not null)
        {
            EngineBuffers.Return(_out);
            _out = null;
        }

        _pool = null;
        _requestListener = null;
    }
}
