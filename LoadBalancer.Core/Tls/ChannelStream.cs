using System.Runtime.CompilerServices;
using LoadBalancer.Core.Async;
using LoadBalancer.Core.Transport;

namespace LoadBalancer.Core.Tls;

/// <summary>
/// The <see cref="Stream"/> SslStream reads records from and writes records to: a thin adapter over the
/// <see cref="SocketChannel"/>. It hands SslStream at most one TLS record's end per read: bytes the socket gave past
/// that end wait here (as do the accept-time steps' bytes: PROXY header leftovers, the peeked ClientHello) until
/// SslStream asks again. So when SslStream has returned plaintext, it holds no ciphertext, and
/// <see cref="HoldsNothing"/> tells the connection it may wait for the next request on the socket itself, a zero-byte
/// wait with no SslStream read pending (which would allocate its state machine, once per keep-alive request). Each
/// operation is bounded by the timer the <see cref="TlsConnection"/> set for it.
/// </summary>
internal sealed class ChannelStream(SocketChannel channel) : Stream
{
    private const int RecordHeaderLength = 5;

    private byte[]? _prefix;
    private int _prefixStart;
    private int _prefixEnd;

    // Where the bytes handed to SslStream stand in the record stream: body bytes of the current record not handed
    // yet, or (between records) how much of the next header has been handed, and its length bytes.
    private int _recordLeft;
    private int _headerHandled;
    private int _lengthHigh;

    public DeadlineTimer? ReadTimer { get; set; }

    public DeadlineTimer? WriteTimer { get; set; }

    /// <summary>Bytes already read from the socket, handed out before any socket read; the stream returns the array to <see cref="EngineBuffers"/>.</summary>
    public void SetPrefix(byte[] buffer, int length)
    {
        _prefix = buffer;
        _prefixStart = 0;
        _prefixEnd = length;
        if (length == 0)
        {
            ReleasePrefix();
        }
    }

    /// <summary>
    /// Every byte handed to SslStream ends a record (none are held here, none are part-way through a header or a
    /// body), so SslStream, once it has returned plaintext, holds no ciphertext.
    /// </summary>
    public bool HoldsNothing => _prefix is null && _recordLeft == 0 && _headerHandled == 0;

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_prefix is not null)
        {
            if (buffer.IsEmpty)
            {
                return new ValueTask<int>(0);
            }

            var available = _prefix.AsSpan(_prefixStart, Math.Min(buffer.Length, _prefixEnd - _prefixStart));
            var count = HandOver(available);
            available[..count].CopyTo(buffer.Span);
            _prefixStart += count;
            if (_prefixStart == _prefixEnd)
            {
                ReleasePrefix();
            }

            return new ValueTask<int>(count);
        }

        var read = ReadTimer is { } timer ? channel.ReceiveAsync(buffer, timer) : channel.ReceiveAsync(buffer, cancellationToken);
        if (buffer.IsEmpty)
        {
            return read;
        }

        return read.IsCompletedSuccessfully ? new ValueTask<int>(Bound(buffer.Span, read.Result)) : AwaitBounded(read, buffer);
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<int> AwaitBounded(ValueTask<int> read, Memory<byte> buffer)
    {
        var length = await read.ConfigureAwait(false);
        return Bound(buffer.Span, length);
    }

    /// <summary>Keeps what the socket gave past the first record end for the next read; the count to hand over.</summary>
    private int Bound(Span<byte> received, int length)
    {
        if (length <= 0)
        {
            return length;
        }

        var count = HandOver(received[..length]);
        if (count < length)
        {
            var rest = length - count;
            var kept = EngineBuffers.Rent(rest);
            received[count..length].CopyTo(kept);
            _prefix = kept;
            _prefixStart = 0;
            _prefixEnd = rest;
        }

        return count;
    }

    /// <summary>How many of <paramref name="available"/> go to SslStream: up to the first record end; the state moves past them.</summary>
    private int HandOver(ReadOnlySpan<byte> available)
    {
        var position = 0;
        while (position < available.Length)
        {
            if (_recordLeft > 0)
            {
                var take = Math.Min(_recordLeft, available.Length - position);
                position += take;
                _recordLeft -= take;
                if (_recordLeft == 0)
                {
                    return position;
                }

                continue;
            }

            // A record header: type (1), version (2), length (2, big-endian).
            var value = available[position++];
            switch (++_headerHandled)
            {
                case 4:
                    _lengthHigh = value;
                    break;
                case RecordHeaderLength:
                    _headerHandled = 0;
                    _recordLeft = (_lengthHigh << 8) | value;
                    if (_recordLeft == 0)
                    {
                        return position;
                    }

                    break;
            }
        }

        return position;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        => channel.SendAsync(buffer, WriteTimer ?? ReadTimer);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Flush()
    {
    }

    // SslStream uses only the async members; the synchronous ones would block the event loop.
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        ReleasePrefix();
        base.Dispose(disposing);
    }

    private void ReleasePrefix()
    {
        if (_prefix is { } prefix)
        {
            _prefix = null;
            EngineBuffers.Return(prefix);
        }
    }
}
