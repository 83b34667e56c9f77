using System.Buffers;
using System.Buffers.Binary;
using LoadBalancer.Core.Http2.Frames;
using LoadBalancer.Core.Http2.Hpack;
using LoadBalancer.Core.Transport;
using LoadBalancer.Core.Transport.Epoll;

namespace LoadBalancer.Core.Http2;

/// <summary>
/// What an HTTP/2 connection is on either side of lb: a client's connection to lb (<see cref="Http2Connection"/>) and
/// lb's connection to an h2 backend (<see cref="Upstream.Http2BackendSession"/>) write frames under one write lock with
/// one rented buffer, honour the peer's SETTINGS and its send windows the same way (RFC 9113 sections 6.5, 6.9), and
/// frame header blocks alike. One copy of those rules, so the two sides cannot drift apart.
/// </summary>
internal abstract partial class Http2Endpoint<TStream> : IDeferredFlush
    where TStream : class, IHttp2SendWindow
{
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly byte[] _sizeUpdate = new byte[8];
    private byte[]? _writeBuffer;

    // Frames written on an epoll loop's thread wait in _pending until the loop's turn ends (IDeferredFlush), and then
    // leave in one send: under h2load 64 x 10 each stream's response was its own sendto, a third of lb's syscalls per
    // request, and the kernel's loopback work per segment was most of lb's CPU (perf). All three fields are guarded by
    // the write lock. _pending is rented for the turn only, so an idle connection holds none; what does not fit it goes
    // out at once (after what is pending), so a slow reader still holds back its writers.
    private byte[]? _pending;
    private int _pendingLength;
    private bool _flushQueued;

    // Guards every send window (the connection's and each stream's) and the peer's initial window.
    protected readonly object _flowLock = new();
    protected readonly Dictionary<int, TStream> _streams = new();
    protected readonly HpackEncoder _encoder = new();
    protected Http2Settings _peer = new();
    protected int _sendWindow = 65_535;

    /// <summary>Where frames go.</summary>
    protected abstract IConnection WriteTransport { get; }

    /// <summary>The timer that bounds each send.</summary>
    protected abstract DeadlineTimer WriteTimer { get; }

    /// <summary>How long one send may take.</summary>
    protected abstract TimeSpan SendTimeout { get; }

    protected int PeerFrameSize => Math.Min(_peer.MaxFrameSize, Http2FrameHeader.DefaultMaxFrameSize);

    /// <summary>The frame buffer, rented while the write lock is held (an idle connection holds none).</summary>
    protected byte[] WriteBuffer => _writeBuffer!;

    protected async ValueTask AcquireWriteAsync()
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        _writeBuffer = EngineBuffers.Rent(Http2FrameHeader.Size + Http2FrameHeader.DefaultMaxFrameSize);
    }

    protected void ReleaseWrite()
    {
        EngineBuffers.Return(_writeBuffer!);
        _writeBuffer = null;
        _writeLock.Release();
    }

    /// <summary>
    /// Sends one whole frame sequence while the write lock is held, bounded by the send deadline. On a loop thread it is
    /// only queued (see <see cref="_pending"/>) when it fits; the frames keep their order either way.
    /// </summary>
    protected ValueTask SendLockedAsync(ReadOnlyMemory<byte> bytes)
    {
        if (EpollLoop.CurrentThread is { } loop && bytes.Length <= PendingCapacity - _pendingLength)
        {
            _pending ??= EngineBuffers.Rent(PendingCapacity);
            bytes.Span.CopyTo(_pending.AsSpan(_pendingLength));
            _pendingLength += bytes.Length;
            if (!_flushQueued)
            {
                _flushQueued = true;
                loop.DeferFlush(this);
            }

            return ValueTask.CompletedTask;
        }

        return SendNowLockedAsync(bytes);
    }

    private const int PendingCapacity = Http2FrameHeader.Size + Http2FrameHeader.DefaultMaxFrameSize;

    private async ValueTask SendNowLockedAsync(ReadOnlyMemory<byte> bytes)
    {
        await SendPendingLockedAsync().ConfigureAwait(false);
        var timer = WriteTimer;
        timer.Arm(SendTimeout);
        await SocketIo.SendAsync(WriteTransport, bytes, timer).ConfigureAwait(false);
        timer.Disarm();
    }

    /// <summary>Sends what is queued, while the write lock is held; the buffer goes back once it has left.</summary>
    private async ValueTask SendPendingLockedAsync()
    {
        if (_pending is not { } pending)
        {
            return;
        }

        var length = _pendingLength;
        try
        {
            if (length > 0)
            {
                var timer = WriteTimer;
                timer.Arm(SendTimeout);
                await SocketIo.SendAsync(WriteTransport, pending.AsMemory(0, length), timer).ConfigureAwait(false);
                timer.Disarm();
            }
        }
        finally
        {
            // Sent or failed, those bytes are done with: a failed send ends the connection anyway.
            _pending = null;
            _pendingLength = 0;
            EngineBuffers.Return(pending);
        }
    }

    /// <summary>The loop's turn ended: the queued frames leave in one send.</summary>
    void IDeferredFlush.Flush()
    {
        var flush = FlushAsync(clearQueued: true);
        if (!flush.IsCompleted)
        {
            // A send that waits (the peer reads slowly) or a write lock held across another send: it finishes on its own.
            _ = ObserveAsync(flush);
        }
        else
        {
            flush.GetAwaiter().GetResult();
        }
    }

    private static async Task ObserveAsync(ValueTask flush) => await flush.ConfigureAwait(false);

    /// <summary>
    /// Sends whatever frames are still queued; never throws (a failed send is the connection's end, which its read loop
    /// sees). Each side calls this before it closes its socket, so a last GOAWAY or RST_STREAM is not lost.
    /// </summary>
    protected async ValueTask FlushAsync(bool clearQueued = false)
    {
        try
        {
            await _writeLock.WaitAsync().ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            return;
        }

        try
        {
            if (clearQueued)
            {
                _flushQueued = false;
            }

            await SendPendingLockedAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or OperationCanceledException or TimeoutException)
        {
            // The peer is gone or stalled past the send deadline: the read side ends the connection.
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>One frame built by <paramref name="write"/> into the write buffer, sent under the write lock.</summary>
    protected async ValueTask SendFrameAsync<TState>(TState state, Func<byte[], TState, int> write)
    {
        await AcquireWriteAsync().ConfigureAwait(false);
        try
        {
            var w = write(WriteBuffer, state);
            await SendLockedAsync(WriteBuffer.AsMemory(0, w)).ConfigureAwait(false);
        }
        finally
        {
            ReleaseWrite();
        }
    }

    /// <summary>
    /// Frames an encoded header block while the write lock is held: HEADERS, then CONTINUATION frames past the peer's
    /// frame size. A table size update, when the peer lowered its table, goes first in the first block after it.
    /// </summary>
    protected async ValueTask WriteHeaderFramesLockedAsync(int id, ReadOnlyMemory<byte> block, bool endStream)
    {
        var prefix = _encoder.BeginBlock(_sizeUpdate);
        var frameSize = PeerFrameSize;
        var first = true;
        var offset = 0;
        while (first || offset < block.Length)
        {
            var room = frameSize - (first ? prefix : 0);
            var take = Math.Min(room, block.Length - offset);
            var last = offset + take == block.Length;
            var flags = (byte)((last ? Http2Flags.EndHeaders : 0) | (first && endStream ? Http2Flags.EndStream : 0));
            var w = Http2FrameWriter.WriteHeader(WriteBuffer, take + (first ? prefix : 0), first ? Http2FrameType.Headers : Http2FrameType.Continuation, flags, id);
            if (first)
            {
                _sizeUpdate.AsSpan(0, prefix).CopyTo(WriteBuffer.AsSpan(w));
                w += prefix;
            }

            block.Span.Slice(offset, take).CopyTo(WriteBuffer.AsSpan(w));
            await SendLockedAsync(WriteBuffer.AsMemory(0, w + take)).ConfigureAwait(false);
            offset += take;
            first = false;
        }
    }

    /// <summary>
    /// Writes the table size update a header block must start with (none: 0) into <paramref name="destination"/>,
    /// for a block written in one piece with other frames.
    /// </summary>
    protected int BeginHeaderBlock(Span<byte> destination)
    {
        var prefix = _encoder.BeginBlock(_sizeUpdate);
        _sizeUpdate.AsSpan(0, prefix).CopyTo(destination);
        return prefix;
    }

    /// <summary>
    /// A SETTINGS frame without ACK (section 6.5.3): applied, the HPACK encoder told the peer's table size, every open
    /// stream's send window shifted by the change of the initial window (section 6.9.2), then acknowledged. A fault
    /// (a bad setting, or a window shifted past 2^31-1) is a connection error, and nothing is acknowledged.
    /// </summary>
    protected async ValueTask<Http2Fault> ApplyPeerSettingsAsync(ReadOnlySequence<byte> payload)
    {
        int delta;
        Http2Fault fault;
        lock (_flowLock)
        {
            var before = _peer.InitialWindowSize;
            fault = _peer.Apply(payload.ToArray());
            delta = _peer.InitialWindowSize - before;
        }

        if (fault.IsFault)
        {
            return fault;
        }

        _encoder.PeerTableSizeChanged((int)Math.Min(_peer.HeaderTableSize, int.MaxValue));
        if (delta != 0 && !ShiftStreamWindows(delta))
        {
            return new Http2Fault(Http2ErrorCode.FlowControlError, StreamOnly: false, "window_overflow");
        }

        await SendFrameAsync(0, static (buffer, _) => Http2FrameWriter.WriteSettingsAck(buffer)).ConfigureAwait(false);
        return default;
    }

    /// <summary>Section 6.9.2: a new initial window shifts every open stream's send window by the difference.</summary>
    private bool ShiftStreamWindows(int delta)
    {
        lock (_flowLock)
        {
            lock (_streams)
            {
                foreach (var stream in _streams.Values)
                {
                    var window = (long)stream.SendWindow + delta;
                    if (window > Http2Settings.MaxWindowSize)
                    {
                        return false;
                    }

                    stream.SendWindow = (int)window;
                    stream.WindowOpened();
                }
            }
        }

        return true;
    }

    /// <summary>Answers a PING (section 6.7) with its opaque data.</summary>
    protected async ValueTask SendPingAckAsync(ReadOnlySequence<byte> payload)
    {
        await AcquireWriteAsync().ConfigureAwait(false);
        try
        {
            Span<byte> opaque = stackalloc byte[8];
            payload.CopyTo(opaque);
            var w = Http2FrameWriter.WritePing(WriteBuffer, ack: true, opaque);
            await SendLockedAsync(WriteBuffer.AsMemory(0, w)).ConfigureAwait(false);
        }
        finally
        {
            ReleaseWrite();
        }
    }

    /// <summary>
    /// A WINDOW_UPDATE on stream 0: the connection's send window grows and every waiting stream wakes. False: it would
    /// pass 2^31-1 (a connection error FLOW_CONTROL_ERROR, section 6.9.1), and the window is unchanged.
    /// </summary>
    protected bool TryOpenConnectionWindow(int increment)
    {
        lock (_flowLock)
        {
            if ((long)_sendWindow + increment > Http2Settings.MaxWindowSize)
            {
                return false;
            }

            _sendWindow += increment;
        }

        lock (_streams)
        {
            foreach (var stream in _streams.Values)
            {
                stream.WindowOpened();
            }
        }

        return true;
    }

    /// <summary>
    /// A WINDOW_UPDATE on an open stream: its send window grows and its sender wakes. False: it would pass 2^31-1 (a
    /// stream error FLOW_CONTROL_ERROR), and the window is unchanged.
    /// </summary>
    protected bool TryOpenStreamWindow(TStream stream, int increment)
    {
        lock (_flowLock)
        {
            if ((long)stream.SendWindow + increment > Http2Settings.MaxWindowSize)
            {
                return false;
            }

            stream.SendWindow += increment;
        }

        stream.WindowOpened();
        return true;
    }

    /// <summary>
    /// Takes what the next DATA frame of <paramref name="stream"/> may carry, up to <paramref name="wanted"/> bytes:
    /// within the peer's frame size and both send windows, which shrink by it. 0 or less: a window is closed.
    /// </summary>
    protected int TakeSendWindow(TStream stream, long wanted)
    {
        lock (_flowLock)
        {
            var take = (int)Math.Min(Math.Min(wanted, PeerFrameSize), Math.Min(stream.SendWindow, _sendWindow));
            if (take > 0)
            {
                stream.SendWindow -= take;
                _sendWindow -= take;
            }

            return take;
        }
    }

    protected TStream? Find(int id)
    {
        lock (_streams)
        {
            return _streams.GetValueOrDefault(id);
        }
    }

    protected static uint ReadUInt32(in ReadOnlySequence<byte> payload, int offset = 0)
    {
        Span<byte> bytes = stackalloc byte[4];
        payload.Slice(offset, 4).CopyTo(bytes);
        return BinaryPrimitives.ReadUInt32BigEndian(bytes);
    }
}
