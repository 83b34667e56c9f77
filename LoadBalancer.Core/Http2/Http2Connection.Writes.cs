using System.Buffers;
using LoadBalancer.Core.Http2.Frames;

namespace LoadBalancer.Core.Http2;

/// <summary>Frames lb sends for its streams: HEADERS (+ CONTINUATION), DATA within the windows, RST_STREAM.</summary>
internal sealed partial class Http2Connection
{
    /// <summary>Frames an encoded header block: HEADERS, then CONTINUATION frames when it is larger than a frame.</summary>
    public async ValueTask SendHeadersAsync(Http2Stream stream, ReadOnlyMemory<byte> block, bool endStream)
    {
        await AcquireWriteAsync().ConfigureAwait(false);
        try
        {
            if (stream.Reset)
            {
                throw new OperationCanceledException("The stream was reset.");
            }

            await WriteHeaderFramesLockedAsync(stream.Id, block, endStream).ConfigureAwait(false);
        }
        finally
        {
            ReleaseWrite();
        }
    }

    /// <summary>
    /// A small complete response in one write: HEADERS and one DATA frame with END_STREAM, when the block and the body
    /// each fit a frame, both fit the write buffer, and both send windows take the body now. False (nothing sent, no
    /// window taken) sends it the usual way. A small response then costs one send instead of three.
    /// </summary>
    public async ValueTask<bool> TrySendWholeResponseAsync(Http2Stream stream, ReadOnlyMemory<byte> block, ReadOnlySequence<byte> body)
    {
        const int sizeUpdateRoom = 8;
        var length = (int)body.Length;
        if (block.Length + sizeUpdateRoom > PeerFrameSize || length > PeerFrameSize
            || (2 * Http2FrameHeader.Size) + sizeUpdateRoom + block.Length + length > Http2FrameHeader.Size + Http2FrameHeader.DefaultMaxFrameSize)
        {
            return false;
        }

        lock (_flowLock)
        {
            if (stream.SendWindow < length || _sendWindow < length)
            {
                return false;
            }

            stream.SendWindow -= length;
            _sendWindow -= length;
        }

        await AcquireWriteAsync().ConfigureAwait(false);
        try
        {
            if (stream.Reset)
            {
                throw new OperationCanceledException("The stream was reset.");
            }

            // The header is written once the size update (if any) is known: it goes just after it.
            var prefix = BeginHeaderBlock(WriteBuffer.AsSpan(Http2FrameHeader.Size));
            var w = Http2FrameWriter.WriteHeader(WriteBuffer, prefix + block.Length, Http2FrameType.Headers, Http2Flags.EndHeaders, stream.Id);
            w += prefix;
            block.Span.CopyTo(WriteBuffer.AsSpan(w));
            w += block.Length;
            w += Http2FrameWriter.WriteHeader(WriteBuffer.AsSpan(w), length, Http2FrameType.Data, Http2Flags.EndStream, stream.Id);
            body.CopyTo(WriteBuffer.AsSpan(w));
            w += length;
            await SendLockedAsync(WriteBuffer.AsMemory(0, w)).ConfigureAwait(false);
        }
        finally
        {
            ReleaseWrite();
        }

        stream.MarkEndStreamSent();
        return true;
    }

    /// <summary>
    /// Sends body bytes as DATA frames, each within the peer's frame size and both send windows; waits (up to
    /// body_idle at a time) when a window is closed. <paramref name="endStream"/> ends the stream with the last frame.
    /// </summary>
    public async ValueTask SendDataAsync(Http2Stream stream, ReadOnlySequence<byte> data, bool endStream)
    {
        do
        {
            if (stream.Reset)
            {
                throw new OperationCanceledException("The stream was reset.");
            }

            var take = TakeSendWindow(stream, data.Length);

            if (take <= 0 && data.Length > 0)
            {
                if (!await stream.WaitForWindowAsync(Listener.Timeouts.BodyIdle).ConfigureAwait(false))
                {
                    throw new TimeoutException("The client granted no flow-control window within body_idle.");
                }

                continue;
            }

            var last = take == data.Length;
            await AcquireWriteAsync().ConfigureAwait(false);
            try
            {
                if (stream.Reset)
                {
                    throw new OperationCanceledException("The stream was reset.");
                }

                var w = Http2FrameWriter.WriteHeader(WriteBuffer, take, Http2FrameType.Data, last && endStream ? Http2Flags.EndStream : (byte)0, stream.Id);
                data.Slice(0, take).CopyTo(WriteBuffer.AsSpan(w));
                await SendLockedAsync(WriteBuffer.AsMemory(0, w + take)).ConfigureAwait(false);
            }
            finally
            {
                ReleaseWrite();
            }

            data = data.Slice(take);
        }
        while (data.Length > 0);

        if (endStream)
        {
            stream.MarkEndStreamSent();
        }
    }

    /// <summary>Resets one of lb's streams: its exchange stops, and the client hears RST_STREAM.</summary>
    public async ValueTask ResetStreamAsync(Http2Stream stream, Http2ErrorCode code)
    {
        stream.Abort();
        await ResetStreamAsync(stream.Id, code).ConfigureAwait(false);
    }

    private async ValueTask ResetStreamAsync(int id, Http2ErrorCode code)
    {
        try
        {
            await SendFrameAsync((id, code), static (buffer, s) => Http2FrameWriter.WriteRstStream(buffer, s.id, s.code)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The client is gone; its streams end with the connection.
        }
    }

    /// <summary>A stream's exchange has ended: it leaves the table and waits in the free list for the next stream.</summary>
    public void OnStreamEnded(Http2Stream stream)
    {
        TaskCompletionSource? allEnded = null;
        lock (_streams)
        {
            _streams.Remove(stream.Id);
            _free.Push(stream);
            if (--_active == 0)
            {
                allEnded = _allStreamsEnded;
            }
        }

        if (allEnded is not null)
        {
            allEnded.TrySetResult();
        }
        else if (Volatile.Read(ref _active) == 0)
        {
            if (_closing)
            {
                // After a GOAWAY the last stream's end is the connection's end (this read cancel shuts the socket's
                // receive side, which is only right for a connection about to close).
                _reader.CancelPendingRead();
            }
            else
            {
                // The read loop is waiting with no deadline while streams run: an idle connection gets keep_alive
                // (unless the loop's own deadline, for a header block or a frame in part, is running).
                if (_blockStream == 0 && !_partialFrame)
                {
                    _readTimer.Arm(Listener.Timeouts.KeepAlive);
                }
            }
        }
    }
}
