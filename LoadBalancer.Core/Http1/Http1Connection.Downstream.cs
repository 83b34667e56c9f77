using System.Buffers;
using System.Net;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Proxy;
using LoadBalancer.Core.Proxy.Upstream;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Transport;

namespace LoadBalancer.Core.Http1;

/// <summary>
/// The HTTP/1 client side of the exchange the upstream drives (<see cref="IDownstream"/>): the request's facts and
/// body from this connection, the response encoded for an HTTP/1.x client, and the keep-alive decision.
/// </summary>
internal sealed partial class Http1Connection : IDownstream
{
    // The snapshot the request was routed under: its timeouts bound this request's client-side sends.
    private ListenerSnapshot? _requestListener;
    private bool _requestIdempotent;

    // Decided when the response head goes out, acted on when the response ends.
    private bool _closeClient;
    private bool _responseUntilClose;
    private bool _responseDechunked;

    ProxyExchange IDownstream.Exchange => Exchange;

    IPEndPoint? IDownstream.ClientEndPoint => ClientEndPoint;

    ReadOnlyMemory<byte> IDownstream.RequestHead => _out.AsMemory(0, _outLength);

    BodyFraming IDownstream.RequestFraming => _requestFraming;

    bool IDownstream.IsHeadRequest => _isHeadRequest;

    bool IDownstream.ExpectsContinue => _expectContinue;

    bool IDownstream.Retryable => _requestIdempotent && _requestFraming == BodyFraming.None;

    private TimeSpan BodyIdle => (_requestListener ?? _listener.Snapshot).Timeouts.BodyIdle;

    private static bool IsIdempotent(Http.HttpMethod method)
        => method is Http.HttpMethod.Get or Http.HttpMethod.Head or Http.HttpMethod.Options or Http.HttpMethod.Put or Http.HttpMethod.Delete;

    Task IDownstream.StartRequestBody(IConnection backend)
        => Upstream.CopyRequestBodyAsync(_clientReader, backend, _requestFraming, _requestLength, _clientTimer, BodyIdle);

    void IDownstream.CancelRequestBody() => _clientReader.CancelPendingRead();

    ValueTask IDownstream.SendInterimAsync(ReadOnlySequence<byte> head, DeadlineTimer timer)
        // An HTTP/1.0 client cannot parse a 1xx (RFC 9110 section 15.2): it gets only the final answer.
        => _clientIsHttp10 ? ValueTask.CompletedTask : SocketIo.SendAsync(_client, head, timer);

    async ValueTask IDownstream.SendContinueAsync()
    {
        ArmTimer(_clientTimer, BodyIdle);
        await SocketIo.SendAsync(_client, CannedResponses.Continue, _clientTimer).ConfigureAwait(false);
    }

    bool IDownstream.AcceptsUpgrade(ReadOnlySpan<byte> responseHead, ReadOnlySpan<HeaderLine> responseHeaders)
        // A 101 must switch to a protocol lb forwarded in the request's Upgrade field (RFC 9110 section 15.2.2).
        => !_upgrade.IsEmpty && _upgrade.Accepts(responseHead, responseHeaders);

    ValueTask IDownstream.SendUpgradeHeadAsync(ReadOnlySequence<byte> head, DeadlineTimer timer) => SocketIo.SendAsync(_client, head, timer);

    async ValueTask IDownstream.TunnelAsync(BackendConnection connection)
    {
        DisarmTimer(_clientTimer);
        await DuplexPump.RunAsync(_clientReader, _client, connection.Reader, connection.Transport).ConfigureAwait(false);
        SetCloseReason(CloseReason.UpgradeEnded);
    }

    private const int BodyCopiedWithHead = 16 * 1024;

    async ValueTask<ResponseBodyRelay> IDownstream.SendResponseHeadAsync(ResponseHeadView response, ReadOnlySequence<byte> bodyStart, bool bodyStartIsWhole, bool requestUnfinished, DeadlineTimer timer)
    {
        var framing = response.Framing;

        // An HTTP/1.0 client cannot parse chunked framing: the body goes to it de-chunked and ends with the connection.
        var dechunk = _clientIsHttp10 && framing == BodyFraming.Chunked;
        _responseDechunked = dechunk;
        _responseUntilClose = framing == BodyFraming.UntilClose;
        _closeClient = _clientWantsClose || _responseUntilClose || dechunk || _listener.IsClosing || requestUnfinished;

        var head = response.Head;
        // The route's response_headers (or the tenant's), and a consumer's RateLimit headers.
        var edits = new HeaderEdits(-1, Exchange.Route?.ResponseHeaders, lines: Exchange.RateLimitLines);
        // Copying up to 16 KiB of body beside the head costs less than the send, packet and client wake-up it saves;
        // the backend reader's first read is 4 KiB, so that is what a large body brings along.
        var withBody = !bodyStart.IsEmpty && bodyStart.Length <= BodyCopiedWithHead;
        RentOut(head.HeadLength + 64 + edits.AddedBytes + (withBody ? (int)bodyStart.Length : 0));
        _outLength = Http1HeadWriter.WriteResponse(response.Bytes.Span, head, response.Headers, _closeClient, _clientIsHttp10, _out, dechunk, edits);
        var status = head.StatusCode;
        if (withBody && _outLength + bodyStart.Length <= _out!.Length)
        {
            // One send for the head and the body bytes already here (all of a small body).
            var length = (int)bodyStart.Length;
            bodyStart.CopyTo(_out.AsSpan(_outLength));
            OnResponseSent(status, _outLength + length); // tenancy: usage accounting
            await SocketIo.SendAsync(_client, _out.AsMemory(0, _outLength + length), timer).ConfigureAwait(false);
            return ResponseBodyRelay.SentWithHead;
        }

        OnResponseSent(status, _outLength); // tenancy: usage accounting
        await SocketIo.SendAsync(_client, _out.AsMemory(0, _outLength), timer).ConfigureAwait(false);
        return dechunk ? ResponseBodyRelay.Dechunked : ResponseBodyRelay.AsIs;
    }

    ValueTask IDownstream.SendBodyAsync(ReadOnlySequence<byte> bytes, DeadlineTimer timer) => SocketIo.SendAsync(_client, bytes, timer);

    ValueTask IDownstream.SendBodyAsync(ReadOnlyMemory<byte> bytes, DeadlineTimer timer) => SocketIo.SendAsync(_client, bytes, timer);

    // A body is de-chunked only for an HTTP/1.0 client, which has no trailers; a chunked one carries them as it is.
    bool IDownstream.TakesTrailers => false;

    ValueTask IDownstream.SendTrailersAsync(ReadOnlyMemory<byte> fieldLines, DeadlineTimer timer) => ValueTask.CompletedTask;

    bool IDownstream.EndResponse(bool requestUnfinished)
    {
        if (requestUnfinished)
        {
            _closeClient = true;
        }

        if (_closeClient)
        {
            SetCloseReason(_responseUntilClose || _responseDechunked ? CloseReason.CloseDelimitedResponse
                : _listener.IsClosing ? CloseReason.Draining
                : CloseReason.ClientRequestedClose);
        }

        return !_closeClient;
    }

    async ValueTask IDownstream.ReplyAsync(LocalReplyCause cause, CloseReason reason, bool clientTimerFired)
    {
        SetCloseReason(reason);
        _replyCause = cause;
        if (clientTimerFired)
        {
            // The client timer has fired, so its token cannot bound this send; the untimed variant caps it instead.
            await SendCannedUntimedAsync(cause.Status).ConfigureAwait(false);
            return;
        }

        await SendCannedAsync(cause.Status, _requestListener ?? _listener.Snapshot).ConfigureAwait(false);
    }

    void IDownstream.SetCloseReason(CloseReason reason) => SetCloseReason(reason);
}
