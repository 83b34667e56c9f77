using System.Buffers;
using System.Globalization;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Proxy.Upstream;
using LoadBalancer.Core.Transport;

namespace LoadBalancer.Core.Http2;

/// <summary>
/// The request body from DATA frames. Until the upstream has a backend connection, DATA is held in one pooled buffer,
/// which flow control bounds (a client may send no more than the stream window lb granted); after that, each frame's
/// content goes straight to the backend, chunk-framed when the request had no content-length, from the connection's
/// read loop. The declared content-length is checked against the DATA received (RFC 9113 section 8.1.1).
/// </summary>
internal sealed partial class Http2Stream
{
    private static readonly byte[] LastChunk = "0\r\n\r\n"u8.ToArray();
    private static readonly byte[] Crlf = "\r\n"u8.ToArray();

    private readonly SemaphoreSlim _bodyLock;
    private readonly byte[] _chunkLine = new byte[20];
    private byte[]? _bodyBuffer;
    private int _bodyBuffered;
    private IConnection? _bodyBackend;
    private TaskCompletionSource? _bodyDone;
    private bool _bodyEnded;
    private bool _bodyCancelled;
    private long _declaredLength;
    private long _bodyReceived;

    // Request trailers as "name: value" CRLF lines, for the last chunk (a body of unknown length only: a
    // content-length body has no place for them on HTTP/1.1).
    private byte[]? _trailerLines;
    private int _trailerLinesLength;

    /// <summary>DATA now goes straight to the backend, so its window may be given back as it arrives.</summary>
    public bool BodyAttached => Volatile.Read(ref _bodyBackend) is not null && !_grantsAfterSend;

    // The body goes to an HTTP/2 backend (Http2RequestBody): the client's window comes back only as the bytes leave
    // for the backend, never on receipt, so the read loop never waits for the backend's window (which would stop it
    // reading the client's WINDOW_UPDATEs, which the response may be waiting for: a deadlock), and lb holds at most one
    // stream window of the body.
    private bool _grantsAfterSend;

    /// <summary>Whether the client may still send DATA on this stream.</summary>
    public bool ReceivingBody => !_bodyEnded && !_bodyCancelled;

    /// <summary>Body bytes reached an HTTP/2 backend: the client gets their window back (see <see cref="_grantsAfterSend"/>).</summary>
    public async ValueTask BodySentAsync(int length)
    {
        Interlocked.Add(ref _unacknowledged, -length);
        if (ReceivingBody && !Reset)
        {
            await _connection.GrantStreamWindowAsync(Id, length).ConfigureAwait(false);
        }
    }

    private void OpenBody(bool endStream)
    {
        _grantsAfterSend = false;
        _bodyEnded = endStream;
        _bodyCancelled = false;
        _bodyBackend = null;
        _bodyBuffered = 0;
        _bodyReceived = 0;
        _declaredLength = -1;
        _bodyDone = null;
    }

    Task IDownstream.StartRequestBody(IConnection backend)
    {
        // Allocated only for requests with a body, as the HTTP/1 path's copy task is.
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _bodyDone = done;
        _ = AttachBackendAsync(backend, done);
        return done.Task;
    }

    void IDownstream.CancelRequestBody() => CancelBody();

    private void CancelBody()
    {
        _bodyCancelled = true;
        _bodyDone?.TrySetCanceled();
    }

    private async Task AttachBackendAsync(IConnection backend, TaskCompletionSource done)
    {
        await _bodyLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (backend is Upstream.Http2RequestBody sink)
            {
                _grantsAfterSend = true;
                sink.GrantTo(this);
            }

            if (_bodyBuffered > 0)
            {
                await SendContentAsync(backend, _bodyBuffer.AsMemory(0, _bodyBuffered)).ConfigureAwait(false);
                _bodyBuffered = 0;
            }

            // What was held is forwarded now: the client gets that window back, and later DATA's as it arrives.
            Volatile.Write(ref _bodyBackend, backend);
            if (!_bodyEnded && !_grantsAfterSend && TakeUnacknowledged() is var granted && granted > 0)
            {
                await _connection.GrantStreamWindowAsync(Id, granted).ConfigureAwait(false);
            }

            if (_bodyEnded)
            {
                await FinishBodyAsync(backend, done).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or OperationCanceledException or InvalidDataException)
        {
            done.TrySetException(ex);
        }
        finally
        {
            _bodyLock.Release();
        }
    }

    /// <summary>
    /// DATA content for this stream, from the connection's read loop: forwarded, or held until the backend is there.
    /// Returns false when the stream must be reset (content-length disagrees, or max_body_bytes is exceeded).
    /// </summary>
    public async ValueTask<bool> OnDataAsync(ReadOnlySequence<byte> content, bool endStream, ReadOnlyMemory<byte> trailers = default)
    {
        await _bodyLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_bodyCancelled)
            {
                return true;
            }

            _bodyReceived += content.Length;
            if ((_declaredLength >= 0 && (_bodyReceived > _declaredLength || (endStream && _bodyReceived != _declaredLength)))
                || !_exchange.CountRequestBytes(content.Length))
            {
                _bodyDone?.TrySetException(new InvalidDataException("The DATA frames disagree with the request's content-length or max_body_bytes."));
                _bodyCancelled = true;
                return false;
            }

            if (_bodyBackend is { } backend)
            {
                if (content.Length > 0)
                {
                    await SendContentAsync(backend, content).ConfigureAwait(false);
                }
            }
            else if (content.Length > 0)
            {
                var needed = _bodyBuffered + (int)content.Length;
                if (_bodyBuffer is null || _bodyBuffer.Length < needed)
                {
                    var bigger = EngineBuffers.Rent(Math.Max(needed, 16 * 1024));
                    _bodyBuffer?.AsSpan(0, _bodyBuffered).CopyTo(bigger);
                    if (_bodyBuffer is not null)
                    {
                        EngineBuffers.Return(_bodyBuffer);
                    }

                    _bodyBuffer = bigger;
                }

                content.CopyTo(_bodyBuffer.AsSpan(_bodyBuffered));
                _bodyBuffered = needed;
            }

            if (endStream)
            {
                _bodyEnded = true;
                _upstream.NoteRequestBodyRead();
                if (!trailers.IsEmpty && _requestFraming == BodyFraming.Chunked)
                {
                    // Kept until the last chunk goes: held with the body when the backend is not there yet.
                    _trailerLines = EngineBuffers.Rent(trailers.Length);
                    trailers.CopyTo(_trailerLines);
                    _trailerLinesLength = trailers.Length;
                }

                if (_bodyBackend is { } attached && _bodyDone is { } done)
                {
                    await FinishBodyAsync(attached, done).ConfigureAwait(false);
                }
            }

            return true;
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or OperationCanceledException)
        {
            _bodyDone?.TrySetException(ex);
            return true;
        }
        finally
        {
            _bodyLock.Release();
        }
    }

    private async ValueTask FinishBodyAsync(IConnection backend, TaskCompletionSource done)
    {
        if (_requestFraming == BodyFraming.Chunked && _trailerLines is { } lines)
        {
            // "0" CRLF, the trailer field lines (each with its CRLF), the final CRLF: one send.
            var last = EngineBuffers.Rent(_trailerLinesLength + 5);
            try
            {
                "0\r\n"u8.CopyTo(last);
                lines.AsSpan(0, _trailerLinesLength).CopyTo(last.AsSpan(3));
                "\r\n"u8.CopyTo(last.AsSpan(3 + _trailerLinesLength));
                await SocketIo.SendAsync(backend, last.AsMemory(0, _trailerLinesLength + 5), Timer).ConfigureAwait(false);
            }
            finally
            {
                EngineBuffers.Return(last);
            }
        }
        else if (_requestFraming == BodyFraming.Chunked)
        {
            await SocketIo.SendAsync(backend, LastChunk, Timer).ConfigureAwait(false);
        }

        done.TrySetResult();
    }

    private async ValueTask SendContentAsync(IConnection backend, ReadOnlySequence<byte> content)
    {
        if (_requestFraming == BodyFraming.Chunked)
        {
            await SocketIo.SendAsync(backend, ChunkSizeLine(content.Length), Timer).ConfigureAwait(false);
            await SocketIo.SendAsync(backend, content, Timer).ConfigureAwait(false);
            await SocketIo.SendAsync(backend, Crlf, Timer).ConfigureAwait(false);
            return;
        }

        await SocketIo.SendAsync(backend, content, Timer).ConfigureAwait(false);
    }

    private ValueTask SendContentAsync(IConnection backend, ReadOnlyMemory<byte> content)
        => SendContentAsync(backend, new ReadOnlySequence<byte>(content));

    /// <summary>"SIZE CRLF" in the stream's own small buffer (one chunk is in flight at a time, under the body lock).</summary>
    private ReadOnlyMemory<byte> ChunkSizeLine(long length)
    {
        length.TryFormat(_chunkLine, out var written, "x", CultureInfo.InvariantCulture);
        _chunkLine[written] = (byte)'\r';
        _chunkLine[written + 1] = (byte)'\n';
        return _chunkLine.AsMemory(0, written + 2);
    }

    private void ReleaseBody()
    {
        if (_trailerLines is not null)
        {
            EngineBuffers.Return(_trailerLines);
            _trailerLines = null;
            _trailerLinesLength = 0;
        }

        if (_bodyBuffer is not null)
        {
            EngineBuffers.Return(_bodyBuffer);
            _bodyBuffer = null;
        }

        _bodyBackend = null;
    }
}
