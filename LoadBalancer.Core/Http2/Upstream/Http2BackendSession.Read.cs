using System.Buffers;
using LoadBalancer.Core.Http2.Frames;
using LoadBalancer.Core.Http2.Hpack;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Transport;

namespace LoadBalancer.Core.Http2.Upstream;

/// <summary>What each frame from the backend does (RFC 9113 sections 5 and 6, lb as the client).</summary>
internal sealed partial class Http2BackendSession
{
    private async Task ReadLoopAsync()
    {
        var reader = _connection.Reader;
        try
        {
            await SendPrefaceAsync().ConfigureAwait(false);
            _readTimer.Arm(_sendTimeout);
            while (!_dead)
            {
                var result = await reader.ReadAsync(_readTimer).ConfigureAwait(false);
                var buffer = result.Buffer;
                while (true)
                {
                    var status = Http2FrameReader.TryRead(buffer, Http2FrameHeader.DefaultMaxFrameSize, out var header, out var payload, out var fault);
                    if (status == Http2ReadStatus.NeedMore)
                    {
                        break;
                    }

                    if (status == Http2ReadStatus.Fault)
                    {
                        if (!fault.StreamOnly)
                        {
                            await FailAsync(fault.Code).ConfigureAwait(false);
                            reader.AdvanceTo(buffer.End);
                            return;
                        }

                        FailStream(header.StreamId, Http2BackendStream.Outcome.Reset);
                        await ResetAsync(header.StreamId, fault.Code).ConfigureAwait(false);
                    }
                    else if (!await HandleFrameAsync(header, payload).ConfigureAwait(false))
                    {
                        reader.AdvanceTo(buffer.End);
                        return;
                    }

                    buffer = buffer.Slice(Http2FrameHeader.Size + header.Length);
                }

                if (result.IsCompleted || result.IsCanceled)
                {
                    reader.AdvanceTo(buffer.End);
                    return;
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        catch (Exception ex) when (IsNetworkError(ex) || ex is InvalidOperationException)
        {
            // The backend went away, or the idle deadline passed: the streams still here end below.
        }
        finally
        {
            _dead = true;
            _set.Remove(this);
            _ready.TrySetResult(false);
            FailAll();
            ReturnBlock();

            // Frames still queued for the loop's turn (a GOAWAY, an RST_STREAM) go before the socket closes.
            await FlushAsync().ConfigureAwait(false);
            _readTimer.Dispose();
            _writeTimer.Dispose();
            _connection.Discard(_discardReason);
        }
    }

    private async ValueTask SendPrefaceAsync()
    {
        var ours = new Http2Settings
        {
            EnablePush = false,
            InitialWindowSize = StreamWindow,
            MaxHeaderListSize = MaxHeaderListSize,
        };
        await AcquireWriteAsync().ConfigureAwait(false);
        try
        {
            Http2FrameWriter.ClientPreface.CopyTo(WriteBuffer);
            var w = Http2FrameWriter.ClientPreface.Length;
            w += Http2FrameWriter.WriteSettings(WriteBuffer.AsSpan(w), ours);
            w += Http2FrameWriter.WriteWindowUpdate(WriteBuffer.AsSpan(w), 0, ConnectionWindow - 65_535);
            await SendLockedAsync(WriteBuffer.AsMemory(0, w)).ConfigureAwait(false);
        }
        finally
        {
            ReleaseWrite();
        }
    }

    /// <summary>Handles one well-formed frame; false ends the connection.</summary>
    private async ValueTask<bool> HandleFrameAsync(Http2FrameHeader header, ReadOnlySequence<byte> payload)
    {
        if (_blockStream != 0 && header.Type != Http2FrameType.Continuation)
        {
            return await FailAsync(Http2ErrorCode.ProtocolError).ConfigureAwait(false);
        }

        if (!_settingsReceived && header.Type != Http2FrameType.Settings)
        {
            // RFC 9113 section 3.4: the server's preface is a SETTINGS frame. Anything else is not HTTP/2.
            return await FailAsync(Http2ErrorCode.ProtocolError).ConfigureAwait(false);
        }

        return await DispatchAsync(header, payload).ConfigureAwait(false);
    }

    protected override async ValueTask<bool> OnOtherFrameAsync(Http2FrameHeader header, ReadOnlySequence<byte> payload)
    {
        switch (header.Type)
        {
            case Http2FrameType.RstStream:
                if (header.StreamId >= _nextStreamId)
                {
                    return await FailAsync(Http2ErrorCode.ProtocolError).ConfigureAwait(false);
                }

                // REFUSED_STREAM says the backend did not process the request (section 8.7): it may go elsewhere.
                FailStream(header.StreamId, (Http2ErrorCode)ReadUInt32(payload) == Http2ErrorCode.RefusedStream ? Http2BackendStream.Outcome.Refused : Http2BackendStream.Outcome.Reset);
                return true;
            case Http2FrameType.GoAway:
                OnGoAway((int)(ReadUInt32(payload) & 0x7FFF_FFFF));
                return true;
            case Http2FrameType.PushPromise:
                // lb sent SETTINGS_ENABLE_PUSH = 0 (section 8.4).
                return await FailAsync(Http2ErrorCode.ProtocolError).ConfigureAwait(false);
            default:
                // PRIORITY and extension frames.
                return true;
        }
    }

    protected override async ValueTask<bool> OnSettingsAsync(Http2FrameHeader header, ReadOnlySequence<byte> payload)
    {
        if (header.HasFlag(Http2Flags.Ack))
        {
            return true;
        }

        var fault = await ApplyPeerSettingsAsync(payload).ConfigureAwait(false);
        if (fault.IsFault)
        {
            return await FailAsync(fault.Code).ConfigureAwait(false);
        }

        if (!_settingsReceived)
        {
            _settingsReceived = true;
            _readTimer.Arm(_idle);
            _ready.TrySetResult(true);
        }

        return true;
    }

    protected override async ValueTask<bool> OnWindowUpdateAsync(Http2FrameHeader header, ReadOnlySequence<byte> payload)
    {
        var increment = (int)(ReadUInt32(payload) & 0x7FFF_FFFF);
        if (header.StreamId == 0)
        {
            return TryOpenConnectionWindow(increment) || await FailAsync(Http2ErrorCode.FlowControlError).ConfigureAwait(false);
        }

        var target = Find(header.StreamId);
        if (target is null)
        {
            return header.StreamId < _nextStreamId || await FailAsync(Http2ErrorCode.ProtocolError).ConfigureAwait(false);
        }

        if (!TryOpenStreamWindow(target, increment))
        {
            target.Fail(Http2BackendStream.Outcome.Reset);
            await ResetAsync(header.StreamId, Http2ErrorCode.FlowControlError).ConfigureAwait(false);
        }

        return true;
    }

    protected override async ValueTask<bool> OnHeadersAsync(Http2FrameHeader header, ReadOnlySequence<byte> payload)
    {
        if (header.StreamId >= _nextStreamId || (header.StreamId & 1) == 0)
        {
            return await FailAsync(Http2ErrorCode.ProtocolError).ConfigureAwait(false);
        }

        return StartBlock(header, header.StreamId, Http2FrameReader.Content(header, payload)) switch
        {
            BlockStep.Flood => await FailAsync(Http2ErrorCode.EnhanceYourCalm).ConfigureAwait(false),
            BlockStep.More => true,
            _ => await OnHeaderBlockAsync(header.StreamId).ConfigureAwait(false),
        };
    }

    protected override async ValueTask<bool> OnContinuationAsync(Http2FrameHeader header, ReadOnlySequence<byte> payload)
    {
        return ContinueBlock(header, payload, out var id) switch
        {
            BlockStep.Unexpected => await FailAsync(Http2ErrorCode.ProtocolError).ConfigureAwait(false),
            BlockStep.Flood => await FailAsync(Http2ErrorCode.EnhanceYourCalm).ConfigureAwait(false),
            BlockStep.More => true,
            _ => await OnHeaderBlockAsync(id).ConfigureAwait(false),
        };
    }

    /// <summary>A complete block: always decoded (HPACK state is the connection's), then given to its stream if it is still there.</summary>
    private async ValueTask<bool> OnHeaderBlockAsync(int id)
    {
        var decoded = EngineBuffers.Rent(MaxHeaderListSize);
        try
        {
            var status = _decoder.Decode(_block.AsSpan(0, _blockLength), decoded, _fields, out var count);
            ReturnBlock();
            if (status == HpackStatus.CompressionError)
            {
                return await FailAsync(Http2ErrorCode.CompressionError).ConfigureAwait(false);
            }

            if (Find(id) is not { } stream)
            {
                // A stream lb already gave up on (reset): its answer has nowhere to go.
                return true;
            }

            var accepted = status == HpackStatus.Ok && stream.OnHeaders(this, id, decoded, _fields.AsSpan(0, count), _blockEndStream);
            if (!accepted)
            {
                // A malformed response (section 8.1.1): a stream error; the request is answered 502.
                stream.Fail(Http2BackendStream.Outcome.Malformed);
                await ResetAsync(id, Http2ErrorCode.ProtocolError).ConfigureAwait(false);
            }

            return true;
        }
        finally
        {
            EngineBuffers.Return(decoded);
        }
    }

    protected override async ValueTask<bool> OnDataAsync(Http2FrameHeader header, ReadOnlySequence<byte> payload)
    {
        // Flow control counts the whole payload, padding included (section 6.9.1); the connection's window is given
        // back as it arrives, since each stream's own window bounds what lb holds.
        _receiveConsumed += header.Length;
        if (_receiveConsumed > ConnectionWindow)
        {
            return await FailAsync(Http2ErrorCode.FlowControlError).ConfigureAwait(false);
        }

        if (_receiveConsumed >= ConnectionWindow / 2)
        {
            var increment = _receiveConsumed;
            _receiveConsumed = 0;
            await AcquireWriteAsync().ConfigureAwait(false);
            try
            {
                var w = Http2FrameWriter.WriteWindowUpdate(WriteBuffer, 0, increment);
                await SendLockedAsync(WriteBuffer.AsMemory(0, w)).ConfigureAwait(false);
            }
            finally
            {
                ReleaseWrite();
            }
        }

        if (header.StreamId >= _nextStreamId)
        {
            return await FailAsync(Http2ErrorCode.ProtocolError).ConfigureAwait(false);
        }

        if (Find(header.StreamId) is not { } stream)
        {
            return true;
        }

        var result = stream.OnData(this, header.StreamId, Http2FrameReader.Content(header, payload), header.Length, header.HasFlag(Http2Flags.EndStream));
        if (result != Http2ErrorCode.NoError)
        {
            await ResetAsync(header.StreamId, result).ConfigureAwait(false);
        }

        return true;
    }

    /// <summary>
    /// The backend stops: streams above <paramref name="lastStreamId"/> were never processed (refused: they may be sent
    /// again), those at or below it finish; the connection closes once none is left.
    /// </summary>
    private void OnGoAway(int lastStreamId)
    {
        _goingAway = true;
        _goAwayLastStreamId = Math.Min(_goAwayLastStreamId, lastStreamId);
        _set.Remove(this);
        Http2BackendStream[] above;
        lock (_streams)
        {
            var count = 0;
            foreach (var id in _streams.Keys)
            {
                count += id > _goAwayLastStreamId ? 1 : 0;
            }

            above = new Http2BackendStream[count];
            count = 0;
            foreach (var (id, stream) in _streams)
            {
                if (id > _goAwayLastStreamId)
                {
                    above[count++] = stream;
                }
            }
        }

        foreach (var stream in above)
        {
            stream.Fail(Http2BackendStream.Outcome.Refused);
        }

        if (Volatile.Read(ref _reserved) == 0)
        {
            Close();
        }
    }

    /// <summary>A connection error: GOAWAY with its code, then the connection and every stream on it end.</summary>
    private async ValueTask<bool> FailAsync(Http2ErrorCode code)
    {
        _discardReason = DiscardReason.InvalidResponse;
        _goingAway = true;
        try
        {
            await AcquireWriteAsync().ConfigureAwait(false);
            try
            {
                var w = Http2FrameWriter.WriteGoAway(WriteBuffer, 0, code);
                await SendLockedAsync(WriteBuffer.AsMemory(0, w)).ConfigureAwait(false);
            }
            finally
            {
                ReleaseWrite();
            }
        }
        catch (Exception ex) when (IsNetworkError(ex))
        {
            // Gone already: it closes anyway.
        }

        return false;
    }

    private void FailStream(int id, Http2BackendStream.Outcome outcome) => Find(id)?.Fail(outcome);

    /// <summary>The connection ended: streams not finished end as lost (or refused, above a GOAWAY's last-stream-id).</summary>
    private void FailAll()
    {
        Http2BackendStream[] streams;
        lock (_streams)
        {
            streams = [.. _streams.Values];
        }

        foreach (var stream in streams)
        {
            stream.Fail(stream.Id > _goAwayLastStreamId ? Http2BackendStream.Outcome.Refused : Http2BackendStream.Outcome.Lost);
        }
    }
}
