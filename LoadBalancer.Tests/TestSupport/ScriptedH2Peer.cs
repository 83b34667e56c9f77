using LoadBalancer.Core.Http2.Frames;

namespace LoadBalancer.Tests.TestSupport;

/// <summary>The server end of a scripted HTTP/2 connection: reads the client preface, then frames.</summary>
internal sealed class ScriptedH2Peer(Stream stream) : IAsyncDisposable
{
    private byte[] _buffer = new byte[64 * 1024];
    private int _buffered;

    public async Task ReadPrefaceAsync(CancellationToken cancellationToken)
    {
        while (_buffered < 24)
        {
            await FillAsync(cancellationToken);
        }

        Assert.That(_buffer.AsSpan(0, 24).SequenceEqual(Http2FrameWriter.ClientPreface), "the client preface");
        _buffer.AsSpan(24, _buffered - 24).CopyTo(_buffer);
        _buffered -= 24;
    }

    public Task SendAsync(byte[] bytes, CancellationToken cancellationToken) => stream.WriteAsync(bytes, cancellationToken).AsTask();

    /// <summary>Reads frames until one matches (SETTINGS are acknowledged on the way), or null once the peer closes.</summary>
    public async Task<(Http2FrameHeader Header, byte[] Payload)?> ReadUntilAsync(Func<Http2FrameHeader, bool> match, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_buffered >= 9 && Http2FrameHeader.TryRead(_buffer.AsSpan(0, _buffered), out var header) && _buffered >= 9 + header.Length)
            {
                var payload = _buffer.AsSpan(9, header.Length).ToArray();
                _buffer.AsSpan(9 + header.Length, _buffered - 9 - header.Length).CopyTo(_buffer);
                _buffered -= 9 + header.Length;
                if (header.Type == Http2FrameType.Settings && !header.HasFlag(Http2Flags.Ack))
                {
                    await SendAsync(RawHttp2Client.Frame(4, 0x1, 0, []), cancellationToken);
                }

                if (match(header))
                {
                    return (header, payload);
                }

                continue;
            }

            if (!await FillAsync(cancellationToken))
            {
                return null;
            }
        }
    }

    private async Task<bool> FillAsync(CancellationToken cancellationToken)
    {
        if (_buffered == _buffer.Length)
        {
            Array.Resize(ref _buffer, _buffer.Length * 2);
        }

        int read;
        try
        {
            read = await stream.ReadAsync(_buffer.AsMemory(_buffered), cancellationToken);
        }
        catch (IOException)
        {
            return false;
        }

        _buffered += read;
        return read > 0;
    }

    public ValueTask DisposeAsync() => stream.DisposeAsync();
}
