using System.Buffers;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Http1;
using LoadBalancer.Core.Http2.Hpack;
using LoadBalancer.Core.Proxy;
using LoadBalancer.Core.Proxy.Upstream;
using LoadBalancer.Core.Transport;

namespace LoadBalancer.Core.Http2;

/// <summary>
/// The response as HEADERS and DATA frames. An HTTP/1 response head (the backend's, or lb's own answer encoded by
/// <see cref="Http1ReplyEncoder"/> and parsed back) becomes one HPACK block: :status, then every field but the
/// connection-specific ones, names lowercased (RFC 9113 section 8.2.2). The body goes out as DATA within the client's
/// flow-control windows; the upstream awaits each send, so a slow client holds back the backend read.
/// </summary>
internal sealed partial class Http2Stream
{
    private static readonly HttpLimits ReplyLimits = new() { MaxHeadBytes = Http1ReplyEncoder.MaxLength, MaxHeaders = 16 };

    private readonly SemaphoreSlim _window;
    private int _sendWindow;
    private bool _headersSent;
    private bool _endStreamSent;

    /// <summary>What the client allows this stream to receive, in bytes; changed by the connection under its flow lock.</summary>
    public int SendWindow { get => _sendWindow; set => _sendWindow = value; }

    /// <summary>Wakes a send waiting for window (a WINDOW_UPDATE or a reset arrived).</summary>
    public void WindowOpened() => _window.Release();

    /// <summary>Waits until the connection signals more window, or the body-idle time passes (false).</summary>
    public Task<bool> WaitForWindowAsync(TimeSpan timeout) => _window.WaitAsync(timeout);

    public void MarkEndStreamSent() => _endStreamSent = true;

    private TimeSpan BodyIdle => (_listener ?? _connection.Listener).Timeouts.BodyIdle;

    async ValueTask IDownstream.SendInterimAsync(ReadOnlySequence<byte> head, DeadlineTimer timer)
    {
        // A 1xx is a HEADERS frame without END_STREAM (RFC 9113 section 8.1); 101 never reaches here (no Upgrade).
        var (source, status, fields, count) = ParseForEncoding(head);
        if (status is >= 100 and < 200 && count >= 0)
        {
            await SendHeadAsync(source, status, fields.AsMemory(0, count), endStream: false).ConfigureAwait(false);
        }
    }

    async ValueTask IDownstream.SendContinueAsync() => await SendHeadAsync(ReadOnlyMemory<byte>.Empty, 100, ReadOnlyMemory<HeaderLine>.Empty, endStream: false).ConfigureAwait(false);

    bool IDownstream.AcceptsUpgrade(ReadOnlySpan<byte> responseHead, ReadOnlySpan<HeaderLine> responseHeaders) => false;

    ValueTask IDownstream.SendUpgradeHeadAsync(ReadOnlySequence<byte> head, DeadlineTimer timer) => ValueTask.CompletedTask;

    ValueTask IDownstream.TunnelAsync(BackendConnection connection) => ValueTask.CompletedTask;

    async ValueTask<ResponseBodyRelay> IDownstream.SendResponseHeadAsync(ResponseHeadView response, ReadOnlySequence<byte> bodyStart, bool bodyStartIsWhole, bool requestUnfinished, DeadlineTimer timer)
    {
        var head = response.Head;
        var noBody = response.Framing == BodyFraming.None;
        var wholeBody = bodyStartIsWhole ? bodyStart : default;
        if (!wholeBody.IsEmpty)
        {
            // The whole body is already here: HEADERS and DATA with END_STREAM in one write when it fits.
            if (await SendHeadAsync(response.Bytes, head.StatusCode, response.Headers.AsMemory(0, head.HeaderCount), endStream: false, _exchange.Route?.ResponseHeaders, _exchange.RateLimitLines, wholeBody).ConfigureAwait(false))
            {
                _exchange.OnResponseSent(head.StatusCode, head.HeadLength + (int)wholeBody.Length);
                return ResponseBodyRelay.SentWithHead;
            }

            _exchange.OnResponseSent(head.StatusCode, head.HeadLength);
            return ResponseBodyRelay.AsIs;
        }

        _exchange.OnResponseSent(head.StatusCode, head.HeadLength);
        await SendHeadAsync(response.Bytes, head.StatusCode, response.Headers.AsMemory(0, head.HeaderCount), endStream: noBody, _exchange.Route?.ResponseHeaders, _exchange.RateLimitLines).ConfigureAwait(false);
        return response.Framing == BodyFraming.Chunked ? ResponseBodyRelay.Dechunked : ResponseBodyRelay.AsIs;
    }

    ValueTask IDownstream.SendBodyAsync(ReadOnlySequence<byte> bytes, DeadlineTimer timer) => _connection.SendDataAsync(this, bytes, endStream: false);

    ValueTask IDownstream.SendBodyAsync(ReadOnlyMemory<byte> bytes, DeadlineTimer timer) => _connection.SendDataAsync(this, new ReadOnlySequence<byte>(bytes), endStream: false);

    bool IDownstream.TakesTrailers => true;

    /// <summary>The backend's chunked trailers as a last HEADERS block with END_STREAM (RFC 9113 section 8.1).</summary>
    async ValueTask IDownstream.SendTrailersAsync(ReadOnlyMemory<byte> fieldLines, DeadlineTimer timer)
    {
        var block = EngineBuffers.Rent(64 + (2 * fieldLines.Length));
        try
        {
            var length = EncodeLines(fieldLines.Span, block, skipConnectionSpecific: true);
            await _connection.SendHeadersAsync(this, block.AsMemory(0, length), endStream: true).ConfigureAwait(false);
            _endStreamSent = true;
        }
        finally
        {
            EngineBuffers.Return(block);
        }
    }

    // The stream ends with its own END_STREAM (RunAsync); the connection carries other streams regardless.
    bool IDownstream.EndResponse(bool requestUnfinished) => true;

    async ValueTask IDownstream.ReplyAsync(LocalReplyCause cause, CloseReason reason, bool clientTimerFired)
    {
        SetCloseReason(reason);
        await SendLocalReplyAsync(cause).ConfigureAwait(false);
    }

    /// <summary>lb's own answer, encoded as for HTTP/1 and sent as HEADERS + DATA with END_STREAM.</summary>
    private async ValueTask SendLocalReplyAsync(LocalReplyCause cause)
    {
        if (_headersSent || Reset)
        {
            // A response is already under way: the stream can only be cut.
            await _connection.ResetStreamAsync(this, Frames.Http2ErrorCode.InternalError).ConfigureAwait(false);
            return;
        }

        if (_grpc)
        {
            await SendGrpcReplyAsync(cause).ConfigureAwait(false);
            return;
        }

        var buffer = EngineBuffers.Rent(Http1ReplyEncoder.MaxLength);
        try
        {
            var length = Http1ReplyEncoder.Write(new LocalReply(cause, lines: _exchange.RateLimitLines.Span, retryAfterSeconds: _exchange.RetryAfterSeconds), _wantsJson, close: false, buffer);
            var reply = new ReadOnlySequence<byte>(buffer, 0, length);
            var (source, status, fields, count) = ParseForEncoding(reply);
            var headLength = _heads.Head.HeadLength;
            _exchange.OnResponseSent(status, length);
            await SendHeadAsync(source, status, fields.AsMemory(0, Math.Max(count, 0)), endStream: false).ConfigureAwait(false);
            await _connection.SendDataAsync(this, reply.Slice(headLength), endStream: true).ConfigureAwait(false);
        }
        finally
        {
            EngineBuffers.Return(buffer);
        }
    }

    /// <summary>A gRPC request's refusal: 200 with grpc-status and grpc-message, trailers-only (one HEADERS, END_STREAM).</summary>
    private async ValueTask SendGrpcReplyAsync(LocalReplyCause cause)
    {
        var lines = _exchange.RateLimitLines;
        var block = EngineBuffers.Rent(GrpcReply.MaxBlockLength + (2 * lines.Length));
        try
        {
            var length = GrpcReply.Encode(cause, block);
            length += EncodeLines(lines.Span, block.AsSpan(length), skipConnectionSpecific: false);
            _exchange.OnResponseSent(200, length);
            _headersSent = true;
            await _connection.SendHeadersAsync(this, block.AsMemory(0, length), endStream: true).ConfigureAwait(false);
            _endStreamSent = true;
        }
        finally
        {
            EngineBuffers.Return(block);
        }
    }

    /// <summary>Parses an HTTP/1 response head (a 1xx or lb's answer) into the stream's head state.</summary>
    private (ReadOnlyMemory<byte> Source, int Status, HeaderLine[] Fields, int Count) ParseForEncoding(in ReadOnlySequence<byte> head)
    {
        var parsed = _heads.Parse(head, isRequest: false, ReplyLimits) == HeadParseStatus.Complete;
        return (_heads.Memory, _heads.Head.StatusCode, _heads.Headers!, parsed ? _heads.Head.HeaderCount : -1);
    }

    /// <summary>
    /// Encodes :status and the fields into one block and hands it to the connection to frame and send. With
    /// <paramref name="wholeBody"/>, the body goes in the same write when it fits (true: the response is complete);
    /// else only the head is sent and the caller relays the body.
    /// </summary>
    private async ValueTask<bool> SendHeadAsync(ReadOnlyMemory<byte> source, int status, ReadOnlyMemory<HeaderLine> fields, bool endStream, HeaderTransform? transform = null, ReadOnlyMemory<byte> lines = default, ReadOnlySequence<byte> wholeBody = default)
    {
        var capacity = 64 + source.Length + (16 * fields.Length) + (transform is null ? 0 : transform.AddedBytes + (16 * transform.Added.Length)) + (2 * lines.Length);
        var block = EngineBuffers.Rent(capacity);
        try
        {
            var length = EncodeBlock(source.Span, status, fields.Span, block, transform, lines.Span);
            if (status >= 200)
            {
                _headersSent = true;
            }

            if (!wholeBody.IsEmpty && await _connection.TrySendWholeResponseAsync(this, block.AsMemory(0, length), wholeBody).ConfigureAwait(false))
            {
                _endStreamSent = true;
                return true;
            }

            await _connection.SendHeadersAsync(this, block.AsMemory(0, length), endStream).ConfigureAwait(false);
            if (endStream)
            {
                _endStreamSent = true;
            }

            return false;
        }
        finally
        {
            EngineBuffers.Return(block);
        }
    }

    /// <summary>With <paramref name="transform"/> (a route's response_headers): its removed fields skipped, its added ones last.</summary>
    private static int EncodeBlock(ReadOnlySpan<byte> source, int status, ReadOnlySpan<HeaderLine> fields, Span<byte> block, HeaderTransform? transform, ReadOnlySpan<byte> lines)
    {
        Span<byte> digits = stackalloc byte[3];
        digits[0] = (byte)('0' + (status / 100));
        digits[1] = (byte)('0' + (status / 10 % 10));
        digits[2] = (byte)('0' + (status % 10));
        var w = HpackEncoder.Encode(":status"u8, digits, neverIndexed: false, block);
        Span<byte> lower = stackalloc byte[256];
        foreach (ref readonly var field in fields)
        {
            if (field.Kind is HeaderKind.Connection or HeaderKind.KeepAlive or HeaderKind.ProxyConnection or HeaderKind.TransferEncoding or HeaderKind.Upgrade)
            {
                continue;
            }

            var name = source.Slice(field.NameStart, field.NameLength);
            if (name.Length > lower.Length || (transform is not null && transform.Removes(name)))
            {
                continue;
            }

            var lowered = lower[..name.Length];
            System.Text.Ascii.ToLower(name, lowered, out _);
            var n = HpackEncoder.Encode(lowered, source.Slice(field.ValueStart, field.ValueLength), neverIndexed: false, block[w..]);
            if (n < 0)
            {
                break;
            }

            w += n;
        }

        foreach (var (name, value) in transform?.Added ?? [])
        {
            if (name.Length > lower.Length)
            {
                continue;
            }

            var lowered = lower[..name.Length];
            System.Text.Ascii.ToLower(name, lowered, out _);
            var n = HpackEncoder.Encode(lowered, value, neverIndexed: false, block[w..]);
            if (n < 0)
            {
                break;
            }

            w += n;
        }

        // lb's own "Name: value" CRLF lines (a consumer's RateLimit headers), as fields.
        return w + EncodeLines(lines, block[w..], skipConnectionSpecific: false);
    }

    /// <summary>
    /// "Name: value" CRLF lines as HPACK fields, names lowercased. A trailer section passes through
    /// <paramref name="skipConnectionSpecific"/>: the fields RFC 9113 section 8.2.2 forbids in HTTP/2 are dropped.
    /// </summary>
    internal static int EncodeLines(ReadOnlySpan<byte> lines, Span<byte> block, bool skipConnectionSpecific)
    {
        Span<byte> lower = stackalloc byte[256];
        var w = 0;
        while (!lines.IsEmpty)
        {
            var end = lines.IndexOf("\r\n"u8);
            var line = end < 0 ? lines : lines[..end];
            lines = end < 0 ? default : lines[(end + 2)..];
            var colon = line.IndexOf((byte)':');
            if (colon <= 0 || colon > lower.Length)
            {
                continue;
            }

            var lowered = lower[..colon];
            System.Text.Ascii.ToLower(line[..colon], lowered, out _);
            if (skipConnectionSpecific && IsConnectionSpecific(lowered))
            {
                continue;
            }

            var n = HpackEncoder.Encode(lowered, line[(colon + 1)..].Trim((byte)' ').Trim((byte)'\t'), neverIndexed: false, block[w..]);
            if (n < 0)
            {
                break;
            }

            w += n;
        }

        return w;
    }

    private static bool IsConnectionSpecific(ReadOnlySpan<byte> lowered)
        => lowered.SequenceEqual("connection"u8) || lowered.SequenceEqual("keep-alive"u8) || lowered.SequenceEqual("proxy-connection"u8)
            || lowered.SequenceEqual("transfer-encoding"u8) || lowered.SequenceEqual("upgrade"u8) || lowered.SequenceEqual("te"u8);
}
