using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

using LoadBalancer.Core.Async;

namespace LoadBalancer.Core.Transport;

/// <summary>
/// A <see cref="PipeReader"/> straight over a connection (client or backend side). Unlike the stream-based reader, it
/// returns every buffer once its bytes are consumed — including the last, partly filled one — and waits for data
/// with a zero-byte receive while it holds nothing, so an idle keep-alive connection holds no buffer at all.
/// Single reader; only <see cref="CancelPendingRead"/> may be called from another thread.
/// </summary>
internal sealed class SocketReader : PipeReader
{
    private readonly IConnection _socket;
    private readonly int _segmentSize;

    // Reads start with a small segment and move to the configured size only after a read filled its segment: most
    // responses fit in 4 KiB, while a large body still moves in few large reads.
    private bool _lastReadFilled;
    private readonly bool _zeroByteReads;
    private Segment? _head;
    private int _headStart;
    private Segment? _tail;
    private bool _examinedEverything;
    private bool _endOfStream;
    private bool _completed;
    private int _cancelRequested;

    // One spare segment object, so a request-sized read costs no allocation (its array comes from the shared pool).
    private Segment? _spare;

    /// <param name="zeroByteReads">
    /// Wait with a zero-byte receive while nothing is buffered (client connections, which idle). Backend connections
    /// read only while a response is due, so they skip it and save the extra wake-up.
    /// </param>
    public SocketReader(IConnection socket, int segmentSize = 4096, bool zeroByteReads = true)
    {
        _socket = socket;
        _segmentSize = segmentSize;
        _zeroByteReads = zeroByteReads && socket.CheapZeroByteReads;
    }

    public override bool TryRead(out ReadResult result)
    {
        if (Interlocked.Exchange(ref _cancelRequested, 0) != 0)
        {
            result = new ReadResult(Buffer(), isCanceled: true, isCompleted: _endOfStream);
            return true;
        }

        if (HasUnexamined() || _endOfStream)
        {
            result = new ReadResult(Buffer(), isCanceled: false, isCompleted: _endOfStream);
            return true;
        }

        result = default;
        return false;
    }

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        return TryRead(out var result) ? new ValueTask<ReadResult>(result) : ReceiveAsync(cancellationToken, null);
    }

    /// <summary>Like <see cref="ReadAsync(CancellationToken)"/>, bounded by <paramref name="timer"/> (no token needed).</summary>
    public ValueTask<ReadResult> ReadAsync(DeadlineTimer timer)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        return TryRead(out var result) ? new ValueTask<ReadResult>(result) : ReceiveAsync(default, timer);
    }

    /// <summary>
    /// Hands over the bytes received and not consumed (an accept-time step read past its end), as a new array, or null
    /// when there are none; the reader is empty afterwards. For the TLS handshake after a PROXY header: once per connection.
    /// </summary>
    public byte[]? TakeBuffered()
    {
        var buffer = Buffer();
        if (buffer.IsEmpty)
        {
            return null;
        }

        var copy = buffer.ToArray();
        AdvanceTo(buffer.End);
        return copy;
    }

    /// <summary>Bytes were received that the caller has not consumed yet.</summary>
    public bool HasBufferedBytes => _head is not null;

    /// <summary>Nothing is buffered and the stream has not ended: the next read would have to wait for the socket.</summary>
    public bool IsDrained => _head is null && !_endOfStream && _cancelRequested == 0;

    /// <summary>Waits until the socket has bytes (or has ended), holding no buffer and no pending read state.</summary>
    public ValueTask<int> WaitForDataAsync(DeadlineTimer timer)
        => _socket.ReceiveAsync(Memory<byte>.Empty, timer);

    private bool HasUnexamined() => !_examinedEverything && _head is not null && (_head != _tail || _headStart < _tail.End);

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<ReadResult> ReceiveAsync(CancellationToken cancellationToken, DeadlineTimer? timer)
    {
        while (true)
        {
            if (_head is null && _zeroByteReads)
            {
                // Nothing buffered: wait for readability without holding memory (the connection may idle for minutes).
                await Receive(Memory<byte>.Empty, cancellationToken, timer).ConfigureAwait(false);
            }

            var tail = _tail;
            if (tail is null || tail.End == tail.Array.Length)
            {
                tail = AppendSegment();
            }

            var received = await Receive(tail.Array.AsMemory(tail.End), cancellationToken, timer).ConfigureAwait(false);
            if (received == 0)
            {
                _endOfStream = true;
                ReleaseIfEmpty();
            }
            else
            {
                _lastReadFilled = tail.End + received == tail.Array.Length;
                tail.End += received;
            }

            _examinedEverything = false;
            if (Interlocked.Exchange(ref _cancelRequested, 0) != 0)
            {
                return new ReadResult(Buffer(), isCanceled: true, isCompleted: _endOfStream);
            }

            // A zero-byte wake-up with nothing to read yet (spurious, or the peer only half-closed): go round again.
            if (_endOfStream || HasUnexamined())
            {
                return new ReadResult(Buffer(), isCanceled: false, isCompleted: _endOfStream);
            }
        }
    }

    private ValueTask<int> Receive(Memory<byte> buffer, CancellationToken cancellationToken, DeadlineTimer? timer)
        => timer is null ? _socket.ReceiveAsync(buffer, cancellationToken) : _socket.ReceiveAsync(buffer, timer);

    private Segment AppendSegment()
    {
        var segment = _spare ?? new Segment();
        _spare = null;
        segment.Reset(EngineBuffers.Rent(_lastReadFilled ? _segmentSize : Math.Min(_segmentSize, EngineBuffers.SmallSize)));
        if (_tail is null)
        {
            _head = segment;
            _headStart = 0;
        }
        else
        {
            _tail.SetNext(segment);
        }

        _tail = segment;
        return segment;
    }

    private ReadOnlySequence<byte> Buffer()
    {
        if (_head is null)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        return _head == _tail
            ? new ReadOnlySequence<byte>(_head.Array, _headStart, _head.End - _headStart)
            : new ReadOnlySequence<byte>(_head, _headStart, _tail!, _tail!.End);
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        if (_head is null)
        {
            return;
        }

        var (consumedSegment, consumedIndex) = Resolve(consumed);
        var (examinedSegment, examinedIndex) = Resolve(examined);
        _examinedEverything = examinedSegment == _tail && examinedIndex >= _tail!.End;

        // Return every segment before the consumed one, then the consumed one too if it is used up.
        while (_head != consumedSegment)
        {
            var next = _head!.Following;
            Recycle(_head);
            _head = next;
        }

        _headStart = consumedIndex;
        if (_head != _tail && _headStart >= _head!.End)
        {
            var next = _head.Following!;
            Recycle(_head);
            _head = next;
            _headStart = 0;
        }

        ReleaseIfEmpty();
    }

    /// <summary>Positions come either as (array, index) for a single-array buffer or as (segment, index).</summary>
    private (Segment Segment, int Index) Resolve(SequencePosition position)
    {
        var index = position.GetInteger();
        return position.GetObject() switch
        {
            Segment segment => (segment, index),
            byte[] array when _head is not null && array == _head.Array => (_head, index),
            null => (_head!, _headStart),
            _ => throw new InvalidOperationException("The position does not belong to this reader's buffer."),
        };
    }

    private void Recycle(Segment segment)
    {
        segment.Return();
        _spare ??= segment;
    }

    private void ReleaseIfEmpty()
    {
        if (_head is not null && _head == _tail && _headStart >= _tail.End)
        {
            Recycle(_head);
            _head = null;
            _tail = null;
            _headStart = 0;
        }
    }

    /// <summary>
    /// Makes the pending (or next) read return with IsCanceled. A receive already waiting in the kernel is woken by
    /// shutting down the receive side, so this is only for connections that are about to close.
    /// </summary>
    public override void CancelPendingRead()
    {
        Interlocked.Exchange(ref _cancelRequested, 1);
        try
        {
            _socket.Shutdown(SocketShutdown.Receive);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Already closed: the pending read ends anyway.
        }
    }

    public override void Complete(Exception? exception = null)
    {
        if (_completed)
        {
            return;
        }

        _completed = true;
        while (_head is not null)
        {
            var next = _head.Following;
            Recycle(_head);
            _head = next;
        }

        _tail = null;
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public byte[] Array { get; private set; } = [];

        public void Reset(byte[] array)
        {
            Array = array;
            Memory = array;
            End = 0;
            RunningIndex = 0;
            Next = null;
        }

        public int End { get; set; }

        public Segment? Following => (Segment?)Next;

        public void SetNext(Segment next)
        {
            // The sequence reads Memory only up to End on the tail; earlier segments are full, so their Memory is exact.
            Memory = Array.AsMemory(0, End);
            next.RunningIndex = RunningIndex + End;
            Next = next;
        }

        public void Return()
        {
            EngineBuffers.Return(Array);
            Array = [];
            Memory = default;
            Next = null;
        }
    }
}
