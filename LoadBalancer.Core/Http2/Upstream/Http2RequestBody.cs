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
    // The content waits here for the backend's window, sent on by a pump: one pooled buffer. An HTTP/2 client can have
    // no more than its stream window outstanding (its window comes back only as bytes leave, see GrantTo), and an
    // HTTP/1 client's copy waits for room, so writers wait only for lb's own buffer, never for the backend.
    private const int Capacity = EngineBuffers.LargeSize;

    private readonly object _lock = new();
    private readonly SemaphoreSlim _room = new(0);
    private readonly SemaphoreSlim _ready = new(0);
    private Http2BackendSession? _session;
    private Http2BackendStream? _stream;
    private Http2Stream? _client;
    private BodyFraming _framing;
    private long _remaining;
    private ChunkedDecoder _decoder;
    private byte[]? _trailers;
    private int _trailersLength;
    private byte[]? _ring;
    private int _start;
    private int _count;
    private bool _finished;
    private bool _pumping;
    private TimeSpan _idle;

    public IConnection Bind(Http2BackendSession session, Http2BackendStream stream, BodyFraming framing, long contentLength, TimeSpan idle)
    {
        lock (_lock)
        {
            Rebind(session, stream);
        }

        _framing = framing;
        _remaining = contentLength;
        _decoder = default;
        _trailersLength = 0;
        _idle = idle;
        return this;
    }

    private void Rebind(Http2BackendSession session, Http2BackendStream stream)
    {
        _session = session;
        _stream = stream;
        _client = null;
        _start = 0;
        _count = 0;
        _finished = false;
    }

    /// <summary>An HTTP/2 client's stream writes here: its window is given back as its bytes leave for the backend.</summary>
    public void GrantTo(Http2Stream client) => _client = client;

    /// <summary>The request is over: the binding and the buffers go (the pump, if still running, stops at its next step).</summary>
    public void Unbind()
    {
        lock (_lock)
        {
            _session = null;
            _stream = null;
            _client = null;
            if (!_pumping)
            {
                ReturnBuffers();
            }
        }

        _ready.Release();
        _room.Release();
    }

    public async ValueTask SendAsync(ReadOnlyMemory<byte> data, DeadlineTimer? timer)
    {
        if (_session is null)
        {
            throw new ObjectDisposedException(nameof(Http2RequestBody));
        }

        if (_framing != BodyFraming.Chunked)
        {
            if (data.Length > _remaining)
            {
                throw new InvalidDataException("More request body than its Content-Length.");
            }

            _remaining -= data.Length;
            await EnqueueAsync(data, finished: _remaining == 0).ConfigureAwait(false);
            return;
        }

        var offset = 0;
        while (offset < data.Length)
        {
            var inTrailers = _decoder.InTrailerSection;
            var status = _decoder.AdvanceContent(data.Span[offset..], out var consumed, out var content);
            if (content > 0)
            {
                await EnqueueAsync(data.Slice(offset + consumed - content, content), finished: false).ConfigureAwait(false);
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
                await EnqueueAsync(ReadOnlyMemory<byte>.Empty, finished: true).ConfigureAwait(false);
                return;
            }
        }
    }

    /// <summary>Copies content into the buffer (waiting for room only when it is full) and wakes the pump.</summary>
    private async ValueTask EnqueueAsync(ReadOnlyMemory<byte> content, bool finished)
    {
        while (true)
        {
            bool start;
            lock (_lock)
            {
                if (_stream is null || _stream.Failed)
                {
                    throw new IOException("The backend's HTTP/2 stream ended.");
                }

                _ring ??= EngineBuffers.Rent(Capacity);
                var end = (_start + _count) % _ring.Length;
                var take = Math.Min(content.Length, _ring.Length - _count);
                var copied = 0;
                while (copied < take)
                {
                    var run = Math.Min(take - copied, _ring.Length - end);
                    content.Span.Slice(copied, run).CopyTo(_ring.AsSpan(end));
                    end = (end + run) % _ring.Length;
                    copied += run;
                }

                _count += take;
                content = content[take..];
                _finished |= finished && content.IsEmpty;
                start = !_pumping;
                _pumping = true;
            }

            if (start)
            {
                _ = PumpAsync();
            }
            else
            {
                _ready.Release();
            }

            if (content.IsEmpty)
            {
                return;
            }

            if (!await _room.WaitAsync(_idle).ConfigureAwait(false))
            {
                throw new TimeoutException("The backend took no request body within body_idle.");
            }
        }
    }

    /// <summary>Sends the buffered content as DATA within the backend's windows, then the end (trailers or an empty END_STREAM).</summary>
    private async Task PumpAsync()
    {
        var staging = EngineBuffers.Rent(16 * 1024);
        Http2BackendStream? current = null;
        try
        {
            while (true)
            {
                int taken;
                bool finished;
                Http2BackendSession? session;
                Http2BackendStream? stream;
                Http2Stream? client;
                lock (_lock)
                {
                    session = _session;
                    stream = _stream;
                    client = _client;
                    current = stream;
                    if (session is null || stream is null)
                    {
                        return;
                    }

                    taken = 0;
                    while (_count > 0 && taken < staging.Length)
                    {
                        var run = Math.Min(Math.Min(_count, _ring!.Length - _start), staging.Length - taken);
                        _ring.AsSpan(_start, run).CopyTo(staging.AsSpan(taken));
                        _start = (_start + run) % _ring.Length;
                        _count -= run;
                        taken += run;
                    }

                    finished = _finished && _count == 0;
                }

                if (taken > 0)
                {
                    _room.Release();
                    await session.SendDataAsync(stream, staging.AsMemory(0, taken), endStream: finished && _trailersLength == 0).ConfigureAwait(false);
                    if (client is not null)
                    {
                        await client.BodySentAsync(taken).ConfigureAwait(false);
                    }
                }

                if (finished)
                {
                    await FinishAsync(session, stream, endSent: taken > 0 && _trailersLength == 0).ConfigureAwait(false);
                    return;
                }

                if (taken == 0 && !await _ready.WaitAsync(_idle).ConfigureAwait(false))
                {
                    throw new TimeoutException("The client sent no request body within body_idle.");
                }
            }
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or OperationCanceledException or TimeoutException or InvalidDataException)
        {
            current?.Fail(Http2BackendStream.Outcome.Reset);
        }
        finally
        {
            EngineBuffers.Return(staging);
            lock (_lock)
            {
                _pumping = false;
                if (_session is null)
                {
                    ReturnBuffers();
                }
            }

            _room.Release();
        }
    }

    /// <summary>The body's end: its trailer fields (without the section's final CRLF) as HEADERS with END_STREAM, else END_STREAM on the last DATA.</summary>
    private async ValueTask FinishAsync(Http2BackendSession session, Http2BackendStream stream, bool endSent)
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
        else if (!endSent)
        {
            await session.SendDataAsync(stream, ReadOnlyMemory<byte>.Empty, endStream: true).ConfigureAwait(false);
        }

        stream.RequestEnded();
    }

    private void ReturnBuffers()
    {
        if (_trailers is not null)
        {
            EngineBuffers.Return(_trailers);
            _trailers = null;
        }

        if (_ring is not null)
        {
            EngineBuffers.Return(_ring);
            _ring = null;
        }

        _count = 0;
        _start = 0;
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
