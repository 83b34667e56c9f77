using System.Net;
using System.Net.Sockets;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Http1;
using LoadBalancer.Core.Transport;

namespace LoadBalancer.Core.Http2.Upstream;

/// <summary>
/// Where a client codec's request body copy writes when the backend speaks HTTP/2: the "connection" both codecs' body
/// copies already write to (<see cref="Proxy.Upstream.IDownstream.StartRequestBody"/>), turning the bytes into DATA
/// frames within the stream's flow-control windows. A chunked body (HTTP/1 chunked, or an HTTP/2 client's body of
/// unknown length) is de-chunked on the way, and its trailer section becomes the stream's last HEADERS frame; a
/// Content-Length body ends the stream with its last byte. One per upstream exchange, bound per request.
/// </summary>
internal sealed class Http2RequestBody : IConnection
{
    private Http2BackendSession? _session;
    private Http2BackendStream? _stream;
    private BodyFraming _framing;
    private long _remaining;
    private ChunkedDecoder _decoder;
    private byte[]? _trailers;
    private int _trailersLength;

    public IConnection Bind(Http2BackendSession session, Http2BackendStream stream, BodyFraming framing, long contentLength)
    {
        _session = session;
        _stream = stream;
        _framing = framing;
        _remaining = contentLength;
        _decoder = default;
        _trailersLength = 0;
        return this;
    }

    /// <summary>The request is over: the binding and any trailer buffer go.</summary>
    public void Unbind()
    {
        _session = null;
        _stream = null;
        if (_trailers is not null)
        {
            EngineBuffers.Return(_trailers);
            _trailers = null;
        }
    }

    public async ValueTask SendAsync(ReadOnlyMemory<byte> data, DeadlineTimer? timer)
    {
        var session = _session ?? throw new ObjectDisposedException(nameof(Http2RequestBody));
        var stream = _stream!;
        if (_framing != BodyFraming.Chunked)
        {
            if (data.Length > _remaining)
            {
                throw new InvalidDataException("More request body than its Content-Length.");
            }

            _remaining -= data.Length;
            await session.SendDataAsync(stream, data, endStream: _remaining == 0).ConfigureAwait(false);
            if (_remaining == 0)
            {
                stream.RequestEnded();
            }

            return;
        }

        var offset = 0;
        while (offset < data.Length)
        {
            var inTrailers = _decoder.InTrailerSection;
            var status = _decoder.AdvanceContent(data.Span[offset..], out var consumed, out var content);
            if (content > 0)
            {
                await session.SendDataAsync(stream, data.Slice(offset + consumed - content, content), endStream: false).ConfigureAwait(false);
            }

            if (inTrailers)
            {
                _trailers ??= EngineBuffers.Rent(ChunkedDecoder.MaxTrailerBytes + 16);
                var room = Math.Min(consumed, _trailers.Length - _trailersLength);
                data.Span.Slice(offset, room).CopyTo(_trailers.AsSpan(_trailersLength));
                _trailersLength += room;
            }

            offset += consumed;
            if (status == ChunkedStatus.Invalid)
            {
                throw new InvalidDataException("Malformed chunked request body.");
            }

            if (status == ChunkedStatus.Done)
            {
                await FinishChunkedAsync(session, stream).ConfigureAwait(false);
                return;
            }
        }
    }

    /// <summary>The last chunk: its trailer fields (without the section's final CRLF) as HEADERS with END_STREAM, else an empty DATA that ends the stream.</summary>
    private async ValueTask FinishChunkedAsync(Http2BackendSession session, Http2BackendStream stream)
    {
        var lines = _trailersLength - 2;
        if (lines > 0)
        {
            var block = EngineBuffers.Rent(64 + (2 * lines));
            try
            {
                var length = Http2Stream.EncodeLines(_trailers.AsSpan(0, lines), block, skipConnectionSpecific: true);
                await session.SendTrailersAsync(stream, block.AsMemory(0, length)).ConfigureAwait(false);
            }
            finally
            {
                EngineBuffers.Return(block);
            }
        }
        else
        {
            await session.SendDataAsync(stream, ReadOnlyMemory<byte>.Empty, endStream: true).ConfigureAwait(false);
        }

        stream.RequestEnded();
    }

    public ValueTask<int> ReceiveAsync(Memory<byte> buffer, DeadlineTimer? timer) => throw new NotSupportedException("A request body sink is written, never read.");

    public ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken) => throw new NotSupportedException("A request body sink is written, never read.");

    /// <summary>The body copy failed: the stream stops (the exchange then resets it), and the response wait ends.</summary>
    public void Shutdown(SocketShutdown how) => _stream?.Fail(Http2BackendStream.Outcome.Reset);

    public void Abort() => _stream?.Fail(Http2BackendStream.Outcome.Reset);

    public void CloseGracefully()
    {
    }

    public IPEndPoint? RemoteEndPoint => null;
}
