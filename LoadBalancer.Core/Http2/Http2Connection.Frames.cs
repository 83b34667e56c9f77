using System.Buffers;
using System.Buffers.Binary;
using LoadBalancer.Core.Http2.Frames;
using LoadBalancer.Core.Http2.Hpack;
using LoadBalancer.Core.Transport;
using LoadBalancer.Core.Metrics;

namespace LoadBalancer.Core.Http2;

/// <summary>What each checked frame does to the connection and its streams (RFC 9113 sections 5 and 6).</summary>
internal sealed partial class Http2Connection
{
    // Rapid Reset (CVE-2023-44487) and MadeYouReset: every client RST_STREAM on a stream it opened, and every reset lb
    // sends for a stream the client made malformed, takes a token; the bucket holds 2 x max_concurrent_streams and refills
    // max_concurrent_streams per second. An empty bucket ends the connection with GOAWAY ENHANCE_YOUR_CALM.
    private double _resetTokens;

    // Until the client acknowledges our SETTINGS it may still assume the protocol's 64 KiB stream window (section 6.9.2).
    private bool _settingsAcknowledged;

    private int EnforcedStreamWindow => _settingsAcknowledged ? StreamReceiveWindow : Math.Max(StreamReceiveWindow, 65_535);
    private long _resetRefilledAt = Environment.TickCount64;

    private byte[]? _decoded;
    private readonly HpackField[] _fields;
    private byte[]? _translated;

    /// <summary>Handles one well-formed frame; false ends the connection (after its GOAWAY).</summary>
    private ValueTask<bool> HandleFrameAsync(Http2FrameHeader header, ReadOnlySequence<byte> payload)
        => _blockStream != 0 && header.Type != Http2FrameType.Continuation
            ? FailAsync(Http2ErrorCode.ProtocolError, "frame_inside_header_block")
            : DispatchAsync(header, payload);

    protected override async ValueTask<bool> OnOtherFrameAsync(Http2FrameHeader header, ReadOnlySequence<byte> payload)
    {
        switch (header.Type)
        {
            case Http2FrameType.RstStream:
                return await OnResetAsync(header, payload).ConfigureAwait(false);
            case Http2FrameType.GoAway:
                // The client will open no more streams; those open finish, then the connection closes.
                _goingAway = true;
                _closing = true;
                return Volatile.Read(ref _active) > 0;
            default:
                // PRIORITY (deprecated by RFC 9113, checked and ignored) and extension frames.
                return true;
        }
    }

    protected override async ValueTask<bool> OnSettingsAsync(Http2FrameHeader header, ReadOnlySequence<byte> payload)
    {
        if (header.HasFlag(Http2Flags.Ack))
        {
            _settingsAcknowledged = true;
            return true;
        }

        var fault = await ApplyPeerSettingsAsync(payload).ConfigureAwait(false);
        return !fault.IsFault || await FailAsync(fault.Code, fault.Reason).ConfigureAwait(false);
    }

    protected override async ValueTask<bool> OnWindowUpdateAsync(Http2FrameHeader header, ReadOnlySequence<byte> payload)
    {
        var increment = (int)(ReadUInt32(payload) & 0x7FFF_FFFF);
        if (header.StreamId == 0)
        {
            return TryOpenConnectionWindow(increment) || await FailAsync(Http2ErrorCode.FlowControlError, "connection_window_overflow").ConfigureAwait(false);
        }

        var target = Find(header.StreamId);
        if (target is null)
        {
            return header.StreamId <= _lastStreamId || await FailAsync(Http2ErrorCode.ProtocolError, "window_update_on_idle_stream").ConfigureAwait(false);
        }

        if (!TryOpenStreamWindow(target, increment))
        {
            await ResetStreamAsync(target, Http2ErrorCode.FlowControlError).ConfigureAwait(false);
        }

        return true;
    }

    protected override async ValueTask<bool> OnHeadersAsync(Http2FrameHeader header, ReadOnlySequence<byte> payload)
    {
        var id = header.StreamId;
        if (Find(id) is { } open)
        {
            // Trailers on an open stream: decoded to keep the HPACK state, then dropped (not forwarded yet).
            if (!open.ReceivingBody || !header.HasFlag(Http2Flags.EndStream))
            {
                return await FailAsync(Http2ErrorCode.ProtocolError, "headers_on_open_stream").ConfigureAwait(false);
            }
        }
        else if ((id & 1) == 0 || id <= _lastStreamId)
        {
            return await FailAsync(Http2ErrorCode.ProtocolError, "stream_id_not_increasing").ConfigureAwait(false);
        }

        return StartBlock(header, id, Http2FrameReader.Content(header, payload)) switch
        {
            BlockStep.Flood => await FailAsync(Http2ErrorCode.EnhanceYourCalm, "header_block_too_large").ConfigureAwait(false),
            BlockStep.More => true,
            _ => await OnHeaderBlockAsync(id).ConfigureAwait(false),
        };
    }

    protected override async ValueTask<bool> OnContinuationAsync(Http2FrameHeader header, ReadOnlySequence<byte> payload)
    {
        return ContinueBlock(header, payload, out var id) switch
        {
            BlockStep.Unexpected => await FailAsync(Http2ErrorCode.ProtocolError, "unexpected_continuation").ConfigureAwait(false),
            BlockStep.Flood => await FailAsync(Http2ErrorCode.EnhanceYourCalm, "continuation_flood").ConfigureAwait(false),
            BlockStep.More => true,
            _ => await OnHeaderBlockAsync(id).ConfigureAwait(false),
        };
    }

    /// <summary>A complete header block: decoded (always, to keep HPACK in step), then a new stream or trailers.</summary>
    private async ValueTask<bool> OnHeaderBlockAsync(int id)
    {
        try
        {
            return await OnDecodedBlockAsync(id).ConfigureAwait(false);
        }
        finally
        {
            ReleaseBlockBuffers();
        }
    }

    private void ReleaseBlockBuffers()
    {
        ReturnBlock();
        Return(ref _decoded);
        Return(ref _translated);
    }

    private static void Return(ref byte[]? buffer)
    {
        if (buffer is not null)
        {
            EngineBuffers.Return(buffer);
            buffer = null;
        }
    }

    private async ValueTask<bool> OnDecodedBlockAsync(int id)
    {
        _blockStream = 0;
        _decoded = EngineBuffers.Rent(_decoder.MaxListSize);
        _translated = EngineBuffers.Rent(Http2RequestTranslator.MaxLength(_decoder.MaxListSize, _fields.Length));
        var status = _decoder.Decode(_block.AsSpan(0, _blockLength), _decoded, _fields, out var count);
        if (status == HpackStatus.CompressionError)
        {
            return await FailAsync(Http2ErrorCode.CompressionError, "hpack").ConfigureAwait(false);
        }

        if (Find(id) is { } open)
        {
            // Request trailers end the body, and go on in the last chunk (to an HTTP/1.1 backend, or to an h2 one as
            // HEADERS): checked as fields first; malformed ones are a stream error (RFC 9113 section 8.1).
            var lines = status == HpackStatus.Ok ? Upstream.Http2ResponseTranslator.TranslateTrailers(_decoded, _fields.AsSpan(0, count), _translated, out _) : -1;
            if (lines < 0 || !await open.OnDataAsync(ReadOnlySequence<byte>.Empty, endStream: true, _translated.AsMemory(0, lines)).ConfigureAwait(false))
            {
                await ResetStreamAsync(open, Http2ErrorCode.ProtocolError).ConfigureAwait(false);
            }

            return true;
        }

        _lastStreamId = id;
        if (status == HpackStatus.ListTooLarge)
        {
            return await RefuseStreamAsync(id, Http2ErrorCode.ProtocolError, "header_list_too_large").ConfigureAwait(false);
        }

        if (_goingAway || _listenerRuntime.IsClosing)
        {
            return await RefuseStreamAsync(id, Http2ErrorCode.RefusedStream, "refused_draining").ConfigureAwait(false);
        }

        if (Volatile.Read(ref _active) >= MaxConcurrentStreams)
        {
            return await RefuseStreamAsync(id, Http2ErrorCode.RefusedStream, "too_many_streams").ConfigureAwait(false);
        }

        var length = Http2RequestTranslator.Translate(_decoded, _fields.AsSpan(0, count), hasBody: !_blockEndStream, _translated, out var isConnect, out var reason);
        if (length < 0)
        {
            return await RefuseStreamAsync(id, Http2ErrorCode.ProtocolError, reason).ConfigureAwait(false);
        }

        var stream = Rent();
        int window;
        lock (_flowLock)
        {
            window = _peer.InitialWindowSize;
        }

        if (isConnect)
        {
            // As on HTTP/1, CONNECT is answered 405 by lb: a request line the parser refuses with that status.
            ReadOnlySpan<byte> connect = "CONNECT connect:443 HTTP/1.1\r\nhost: connect:443\r\n\r\n"u8;
            connect.CopyTo(_translated);
            length = connect.Length;
        }

        stream.Open(id, _translated.AsSpan(0, length), _blockEndStream, window);
        lock (_streams)
        {
            _streams[id] = stream;
            _active++;
        }

        stream.Start(Listener);
        return true;
    }

    protected override async ValueTask<bool> OnDataAsync(Http2FrameHeader header, ReadOnlySequence<byte> payload)
    {
        // Flow control counts the whole payload, padding included (section 6.9.1). lb tops each window back up to
        // its full size whenever it grants more, so what is unacknowledged can never pass the full size: more than that
        // is a client ignoring flow control, and the bytes lb would otherwise have to hold.
        if (_receiveConsumed + header.Length > ConnectionReceiveWindow)
        {
            return await FailAsync(Http2ErrorCode.FlowControlError, "connection_window_exceeded").ConfigureAwait(false);
        }

        if (Find(header.StreamId) is { ReceivingBody: true } receiving && receiving.Unacknowledged + header.Length > EnforcedStreamWindow)
        {
            Listener.Http2Errors.Add(Http2ErrorKind.FlowControl);
            await ResetStreamAsync(receiving, Http2ErrorCode.FlowControlError).ConfigureAwait(false);
            return true;
        }

        var padding = header.Length - (int)Http2FrameReader.Content(header, payload).Length;
        await ConsumeReceiveWindowAsync(header.StreamId, header.Length, padding).ConfigureAwait(false);
        var stream = Find(header.StreamId);
        if (stream is null || !stream.ReceivingBody)
        {
            if (header.StreamId > _lastStreamId)
            {
                return await FailAsync(Http2ErrorCode.ProtocolError, "data_on_idle_stream").ConfigureAwait(false);
            }

            await ResetStreamAsync(header.StreamId, Http2ErrorCode.StreamClosed).ConfigureAwait(false);
            return true;
        }

        var content = Http2FrameReader.Content(header, payload);
        if (!await stream.OnDataAsync(content, header.HasFlag(Http2Flags.EndStream)).ConfigureAwait(false))
        {
            Listener.Http2Errors.Add(Http2ErrorKind.MalformedRequest);
            await ResetStreamAsync(stream, Http2ErrorCode.ProtocolError).ConfigureAwait(false);
            return await SpendResetTokenAsync().ConfigureAwait(false);
        }

        return true;
    }

    private async ValueTask<bool> OnResetAsync(Http2FrameHeader header, ReadOnlySequence<byte> payload)
    {
        if (header.StreamId > _lastStreamId)
        {
            return await FailAsync(Http2ErrorCode.ProtocolError, "rst_stream_on_idle_stream").ConfigureAwait(false);
        }

        Find(header.StreamId)?.OnReset();

        // Counted whether or not lb had finished the stream: a fast backend must not hide a reset flood.
        return await SpendResetTokenAsync().ConfigureAwait(false);
    }

    /// <summary>One early stream end; false (after GOAWAY ENHANCE_YOUR_CALM) once the client resets faster than the bucket refills.</summary>
    private async ValueTask<bool> SpendResetTokenAsync()
    {
        var now = Environment.TickCount64;
        _resetTokens = Math.Min(2 * MaxConcurrentStreams, _resetTokens + ((now - _resetRefilledAt) * MaxConcurrentStreams / 1000.0));
        _resetRefilledAt = now;
        if (--_resetTokens >= 0)
        {
            return true;
        }

        return await FailAsync(Http2ErrorCode.EnhanceYourCalm, "rapid_reset").ConfigureAwait(false);
    }

    /// <summary>Replenishes the client's windows once half of each is used, so DATA keeps flowing as lb forwards it.</summary>
    /// <remarks>
    /// <paramref name="padding"/> (with its length byte) takes window like content (RFC 9113 section 6.1) but is never
    /// held nor forwarded: while the stream's window comes back only as its content is forwarded (held, or bound for
    /// an h2 backend), the padding's share comes back on its own, a quarter window at a time.
    /// </remarks>
    private async ValueTask ConsumeReceiveWindowAsync(int streamId, int length, int padding)
    {
        if (length == 0)
        {
            return;
        }

        _receiveConsumed += length;
        var stream = Find(streamId);
        var streamUpdate = 0;
        if (stream is not null && stream.ReceivingBody)
        {
            // Held DATA (no backend yet) keeps its window until it is forwarded: that bounds what lb holds per stream.
            stream.Received(length);
            if (stream.BodyAttached)
            {
                if (stream.Unacknowledged >= StreamReceiveWindow / 2)
                {
                    streamUpdate = stream.TakeUnacknowledged();
                }
            }
            else if (padding > 0)
            {
                streamUpdate = stream.OwePadding(padding, Math.Max(1, StreamReceiveWindow / 4));
            }
        }

        var connectionUpdate = 0;
        if (_receiveConsumed >= ConnectionReceiveWindow / 2)
        {
            connectionUpdate = _receiveConsumed;
            _receiveConsumed = 0;
        }

        if (streamUpdate == 0 && connectionUpdate == 0)
        {
            return;
        }

        await AcquireWriteAsync().ConfigureAwait(false);
        try
        {
            var w = 0;
            if (connectionUpdate > 0)
            {
                w += Http2FrameWriter.WriteWindowUpdate(WriteBuffer, 0, connectionUpdate);
            }

            if (streamUpdate > 0)
            {
                w += Http2FrameWriter.WriteWindowUpdate(WriteBuffer.AsSpan(w), streamId, streamUpdate);
            }

            await SendLockedAsync(WriteBuffer.AsMemory(0, w)).ConfigureAwait(false);
        }
        finally
        {
            ReleaseWrite();
        }
    }

    /// <summary>Gives a stream back the window of DATA it forwarded (called when held DATA reaches the backend).</summary>
    public ValueTask GrantStreamWindowAsync(int streamId, int increment)
        => SendFrameAsync((streamId, increment), static (buffer, s) => Http2FrameWriter.WriteWindowUpdate(buffer, s.streamId, s.increment));

    private async ValueTask<bool> RefuseStreamAsync(int id, Http2ErrorCode code, string reason)
    {
        Listener.Http2Errors.Add(code == Http2ErrorCode.RefusedStream ? Http2ErrorKind.RefusedStream
            : reason == "header_list_too_large" ? Http2ErrorKind.HeaderListTooLarge
            : Http2ErrorKind.MalformedRequest);
        Log.Http2StreamRefused(_logger, _id, id, reason);
        await ResetStreamAsync(id, code).ConfigureAwait(false);
        return code == Http2ErrorCode.RefusedStream || await SpendResetTokenAsync().ConfigureAwait(false);
    }

    /// <summary>A connection error: GOAWAY with its code, then the connection ends (returns false for the read loop).</summary>
    private async ValueTask<bool> FailAsync(Http2ErrorCode code, string reason)
    {
        Count(code, reason);
        Log.Http2ProtocolError(_logger, _id, reason);
        await GoAwayAsync(code).ConfigureAwait(false);
        return false;
    }

    /// <summary>Counts a connection error (or a stream-only frame fault) under its kind.</summary>
    private void Count(Http2ErrorCode code, string reason)
        => Listener.Http2Errors.Add(reason switch
        {
            "rapid_reset" => Http2ErrorKind.RapidReset,
            "continuation_flood" or "header_block_too_large" => Http2ErrorKind.ContinuationFlood,
            _ => code switch
            {
                Http2ErrorCode.CompressionError => Http2ErrorKind.Compression,
                Http2ErrorCode.FlowControlError => Http2ErrorKind.FlowControl,
                Http2ErrorCode.FrameSizeError => Http2ErrorKind.FrameSize,
                _ => Http2ErrorKind.Protocol,
            },
        });

    private Http2Stream Rent()
    {
        lock (_streams)
        {
            if (_free.TryPop(out var stream))
            {
                return stream;
            }

            stream = new Http2Stream(this, _engine);
            _all.Add(stream);
            return stream;
        }
    }
}
