using LoadBalancer.Core.Transport;

namespace LoadBalancer.Core.Tls;

/// <summary>
/// The <see cref="Stream"/> SslStream reads records from and writes records to: a thin adapter over the
/// <see cref="SocketChannel"/>, with no buffer of its own (so the zero-byte idle wait reaches the socket), except the
/// bytes the accept-time steps already read (PROXY header leftovers, the peeked ClientHello), which it hands out first
/// and then returns to the pool. Each operation is bounded by the timer the <see cref="TlsConnection"/> set for it.
/// </summary>
internal sealed class ChannelStream(SocketChannel channel) : Stream
{
    private byte[]? _prefix;
    private int _prefixStart;
    private int _prefixEnd;

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

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_prefix is not null)
        {
            if (buffer.IsEmpty)
            {
                return new ValueTask<int>(0);
            }

            var count = Math.Min(buffer.Length, _prefixEnd - _prefixStart);
            _prefix.AsSpan(_prefixStart, count).CopyTo(buffer.Span);
            _prefixStart += count;
            if (_prefixStart == _prefixEnd)
            {
                ReleasePrefix();
            }

            return new ValueTask<int>(count);
        }

        return ReadTimer is { } timer ? channel.ReceiveAsync(buffer, timer) : channel.ReceiveAsync(buffer, cancellationToken);
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
