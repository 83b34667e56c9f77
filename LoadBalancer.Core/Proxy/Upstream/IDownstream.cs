using System.Buffers;
using System.Net;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Transport;

namespace LoadBalancer.Core.Proxy.Upstream;

/// <summary>
/// The client side of one request, as an upstream exchange drives it: where the request's facts and body come from and
/// where the response goes. One implementation per client codec (the HTTP/1 connection today, an HTTP/2 stream
/// later); the upstream exchange holds the sequence (send, interim answers, final head, body, reuse decision, retries
/// and lb's own answers to backend failures) once for all of them. Calls are few per request and never allocate.
/// </summary>
internal interface IDownstream
{
    /// <summary>The request's tenancy and accounting.</summary>
    ProxyExchange Exchange { get; }

    IPEndPoint? ClientEndPoint { get; }

    /// <summary>The request head as the backend gets it (HTTP/1, edits applied), encoded by the downstream codec.</summary>
    ReadOnlyMemory<byte> RequestHead { get; }

    BodyFraming RequestFraming { get; }

    bool IsHeadRequest { get; }

    /// <summary>The client waits for 100 Continue before it sends the body.</summary>
    bool ExpectsContinue { get; }

    /// <summary>The request may go to another backend after a reset before any response byte: idempotent and without a body.</summary>
    bool Retryable { get; }

    /// <summary>Starts copying the request body to <paramref name="backend"/>; the task ends with the body or its failure.</summary>
    Task StartRequestBody(IConnection backend);

    /// <summary>Stops a request body copy that is still running (its task then ends).</summary>
    void CancelRequestBody();

    /// <summary>Sends a 1xx the backend gave (the downstream drops it where its client cannot take one).</summary>
    ValueTask SendInterimAsync(ReadOnlySequence<byte> head, DeadlineTimer timer);

    /// <summary>Answers 100 Continue itself, for a backend that never will (HTTP/1.0).</summary>
    ValueTask SendContinueAsync();

    /// <summary>Whether a 101 switches to a protocol the request offered.</summary>
    bool AcceptsUpgrade(ReadOnlySpan<byte> responseHead, ReadOnlySpan<HeaderLine> responseHeaders);

    /// <summary>Relays an accepted 101 head as it is.</summary>
    ValueTask SendUpgradeHeadAsync(ReadOnlySequence<byte> head, DeadlineTimer timer);

    /// <summary>After the 101: both directions as bytes until either side closes (or the drain aborts them).</summary>
    ValueTask TunnelAsync(BackendConnection connection);

    /// <summary>
    /// Sends the final response head, with <paramref name="bodyStart"/> (the body bytes already read with the head: all
    /// of it when <paramref name="bodyStartIsWhole"/>) if there is room; <see cref="ResponseBodyRelay.SentWithHead"/>
    /// says all of <paramref name="bodyStart"/> went out. Returns how the body follows. <paramref name="requestUnfinished"/>:
    /// the backend answered before the request body was all read.
    /// </summary>
    ValueTask<ResponseBodyRelay> SendResponseHeadAsync(ResponseHeadView response, ReadOnlySequence<byte> bodyStart, bool bodyStartIsWhole, bool requestUnfinished, DeadlineTimer timer);

    /// <summary>Sends response body bytes as they are (framing included when the head kept it).</summary>
    ValueTask SendBodyAsync(ReadOnlySequence<byte> bytes, DeadlineTimer timer);

    /// <summary>Sends body bytes staged in a buffer (de-chunked content).</summary>
    ValueTask SendBodyAsync(ReadOnlyMemory<byte> bytes, DeadlineTimer timer);

    /// <summary>Whether a de-chunked body's trailer fields go to <see cref="SendTrailersAsync"/> (HTTP/2), or are dropped.</summary>
    bool TakesTrailers { get; }

    /// <summary>
    /// Sends a de-chunked body's trailer section: "Name: value" CRLF lines, without the final CRLF. It ends the
    /// response (HTTP/2: a HEADERS frame with END_STREAM).
    /// </summary>
    ValueTask SendTrailersAsync(ReadOnlyMemory<byte> fieldLines, DeadlineTimer timer);

    /// <summary>The response has ended: returns whether the client connection carries another request.</summary>
    bool EndResponse(bool requestUnfinished);

    /// <summary>lb answers this request itself (a backend failure, a full pool); the connection then closes.</summary>
    ValueTask ReplyAsync(LocalReplyCause cause, CloseReason reason, bool clientTimerFired);

    /// <summary>Records why the connection ends (the first reason recorded wins).</summary>
    void SetCloseReason(CloseReason reason);
}
