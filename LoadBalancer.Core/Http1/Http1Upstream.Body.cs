using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using LoadBalancer.Core.Async;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Proxy;
using LoadBalancer.Core.Proxy.Upstream;
using LoadBalancer.Core.Transport;

namespace LoadBalancer.Core.Http1;

/// <summary>
/// Message bodies by their RFC 9112 framing, both ways over the backend connection: Content-Length counts down,
/// chunked walks only the chunk-size lines (or is decoded for a client that takes content only), close-delimited runs
/// to EOF. A body that breaks records why the backend connection cannot be reused.
/// </summary>
internal sealed partial class Http1Upstream
{
    private const int StagingSize = 4096;

    // Rented only while a chunked body is decoded for the client; returned with the request.
    private byte[]? _staging;

    /// <summary>
    /// Copies an HTTP/1 request body from the client's <paramref name="reader"/> to the backend. If the copy fails — a
    /// malformed chunked body (found only while streaming it), a client that stalls past body_idle, or one that goes
    /// away — the exchange ends: the backend connection is shut down so the wait for its response ends now, and the
    /// client is answered 400 (RFC 9112 section 7.1) or 408, instead of waiting out the response-head timeout for an
    /// answer to a body the backend never got in full.
    /// </summary>
    public async Task CopyRequestBodyAsync(SocketReader reader, IConnection backend, BodyFraming framing, long length, DeadlineTimer clientTimer, TimeSpan idle)
    {
        try
        {
            await CopyBodyAsync(reader, backend, framing, length, clientTimer, idle, isRequestBody: true).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidDataException || IsExpectedNetworkError(ex))
        {
            _requestBodyInvalid = ex is InvalidDataException;
            _requestBodyTimedOut = ex is OperationCanceledException && clientTimer.IsCancellationRequested;
            _requestBodyFailed = true;
            try
            {
                backend.Shutdown(SocketShutdown.Both);
            }
            catch (Exception shutdownError) when (shutdownError is SocketException or ObjectDisposedException)
            {
                // The backend side is already gone: the response wait ends anyway.
            }

            throw;
        }
    }

    /// <summary>
    /// Copies one message body from <paramref name="reader"/> as raw bytes, delimited by its framing: to the backend
    /// (a request body) or, with <paramref name="destination"/> null, to the downstream (a response body).
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder))]
    private async ValueTask CopyBodyAsync(SocketReader reader, IConnection? destination, BodyFraming framing, long length, DeadlineTimer timer, TimeSpan idle, bool isRequestBody)
    {
        var decoder = default(ChunkedDecoder);
        var remaining = length;
        while (true)
        {
            var result = await ReadBodyBytesAsync(reader, timer, idle, isRequestBody).ConfigureAwait(false);
            var buffer = result.Buffer;

            long take;
            bool done;
            switch (framing)
            {
                case BodyFraming.ContentLength:
                    take = Math.Min(buffer.Length, remaining);
                    remaining -= take;
                    done = remaining == 0;
                    break;
                case BodyFraming.Chunked:
                    try
                    {
                        take = WalkChunks(ref decoder, buffer, out done);
                    }
                    catch (InvalidDataException) when (NoteReadFailure(isRequestBody, timer))
                    {
                        throw;
                    }

                    break;
                default:
                    take = buffer.Length;
                    done = result.IsCompleted;
                    break;
            }

            if (done && isRequestBody)
            {
                // The whole request body is read from the client: whatever the backend answers, the client connection
                // is positioned at the next request, even if this last send is still completing.
                _requestBodyRead = true;
            }

            if (take > 0)
            {
                if (destination is null)
                {
                    _exchange.CountResponseBytes(take); // tenancy: bytes out
                    await _downstream.SendBodyAsync(buffer.Slice(0, take), timer).ConfigureAwait(false);
                }
                else
                {
                    CountRequestBytes(destination, take); // tenancy: bytes in, max_body_bytes for chunked bodies
                    await SocketIo.SendAsync(destination, buffer.Slice(0, take), timer).ConfigureAwait(false);
                }
            }

            reader.AdvanceTo(buffer.GetPosition(take));
            if (done)
            {
                return;
            }

            if (result.IsCompleted)
            {
                NoteReadFailure(isRequestBody, timer);
                throw new IOException("The peer closed the connection in the middle of a body.");
            }
        }
    }

    /// <summary>
    /// Counts request body bytes as they are forwarded. A body over <c>max_body_bytes</c> (chunked; Content-Length was
    /// refused up front) aborts the backend connection, so the pending response read fails and the client gets 413.
    /// </summary>
    private void CountRequestBytes(IConnection backend, long bytes)
    {
        if (!_exchange.CountRequestBytes(bytes))
        {
            _downstream.SetCloseReason(CloseReason.BodyTooLarge);
            SocketIo.Abort(backend);
            throw new InvalidDataException("The request body exceeds max_body_bytes.");
        }
    }

    /// <summary>One read of body bytes under the body-idle deadline; a cancelled read (the exchange is over) throws.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<ReadResult> ReadBodyBytesAsync(SocketReader reader, DeadlineTimer timer, TimeSpan idle, bool isRequestBody)
    {
        timer.Arm(idle);
        ReadResult result;
        try
        {
            result = await reader.ReadAsync(timer).ConfigureAwait(false);
        }
        catch (Exception) when (NoteReadFailure(isRequestBody, timer))
        {
            throw;
        }

        if (result.IsCanceled)
        {
            reader.AdvanceTo(result.Buffer.Start);
            throw new OperationCanceledException();
        }

        return result;
    }

    /// <summary>
    /// Relays a chunked response body as its bare content: chunk data is gathered in a staging buffer and handed to
    /// the downstream when it fills or the read buffer is used up. The trailer section goes to a downstream that
    /// <see cref="IDownstream.TakesTrailers"/> (HTTP/2), at most <see cref="ChunkedDecoder.MaxTrailerBytes"/>, and is
    /// dropped for the others. The backend side is still read to the chunked end, so its connection stays reusable.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder))]
    private async ValueTask RelayDechunkedAsync(SocketReader reader, TimeSpan idle)
    {
        var decoder = default(ChunkedDecoder);
        var staging = _staging ??= EngineBuffers.Rent(StagingSize);
        var trailers = new TrailerSection(_downstream.TakesTrailers);
        try
        {
            while (true)
            {
                var result = await ReadBodyBytesAsync(reader, _timer, idle, isRequestBody: false).ConfigureAwait(false);
                var buffer = result.Buffer;

                var (taken, staged, done) = TakeContent(ref decoder, buffer, staging, ref trailers, out var invalid);
                if (invalid)
                {
                    NoteReadFailure(isRequestBody: false, _timer);
                    throw new InvalidDataException("Malformed chunked body.");
                }

                if (staged > 0)
                {
                    _exchange.CountResponseBytes(staged); // tenancy: bytes out
                    await _downstream.SendBodyAsync(staging.AsMemory(0, staged), _timer).ConfigureAwait(false);
                }

                reader.AdvanceTo(buffer.GetPosition(taken));
                if (done)
                {
                    await SendTrailersAsync(trailers).ConfigureAwait(false);
                    return;
                }

                if (result.IsCompleted && taken == buffer.Length)
                {
                    NoteReadFailure(isRequestBody: false, _timer);
                    throw new IOException("The peer closed the connection in the middle of a body.");
                }
            }
        }
        finally
        {
            if (trailers.Bytes is not null)
            {
                EngineBuffers.Return(trailers.Bytes);
            }
        }
    }

    private void ReturnStaging()
    {
        if (_staging is not null)
        {
            EngineBuffers.Return(_staging);
            _staging = null;
        }
    }

    /// <summary>The trailer section as read (its CRLF lines and the final CRLF), to the downstream when it takes them; the caller returns the buffer.</summary>
    private async ValueTask SendTrailersAsync(TrailerSection trailers)
    {
        if (trailers.Bytes is not { } bytes)
        {
            return;
        }

        // Only the final CRLF: no field lines, nothing to send.
        if (trailers.Length > 2)
        {
            await _downstream.SendTrailersAsync(bytes.AsMemory(0, trailers.Length - 2), _timer).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Walks <paramref name="buffer"/> with the decoder, copying chunk data into <paramref name="staging"/> until it is
    /// full, and the trailer section into <paramref name="trailers"/> when it is kept: returns the bytes of the buffer
    /// taken, the content bytes staged, and whether the body ended.
    /// </summary>
    private static (long Taken, int Staged, bool Done) TakeContent(ref ChunkedDecoder decoder, in ReadOnlySequence<byte> buffer, byte[] staging, ref TrailerSection trailers, out bool invalid)
    {
        long taken = 0;
        var staged = 0;
        invalid = false;
        foreach (var segment in buffer)
        {
            var span = segment.Span;
            while (!span.IsEmpty)
            {
                var room = staging.Length - staged;
                if (room == 0)
                {
                    return (taken, staged, false);
                }

                var inTrailers = decoder.InTrailerSection;
                var status = decoder.AdvanceContent(span[..Math.Min(span.Length, room)], out var consumed, out var content);
                span.Slice(consumed - content, content).CopyTo(staging.AsSpan(staged));
                if (inTrailers)
                {
                    trailers.Append(span[..consumed]);
                }

                staged += content;
                taken += consumed;
                span = span[consumed..];
                if (status == ChunkedStatus.Done)
                {
                    return (taken, staged, true);
                }

                if (status == ChunkedStatus.Invalid)
                {
                    invalid = true;
                    return (taken, staged, false);
                }
            }
        }

        return (taken, staged, false);
    }

    /// <summary>A chunked body's trailer section, kept in a pooled buffer rented at its first byte (most bodies have none).</summary>
    private struct TrailerSection(bool keep)
    {
        public byte[]? Bytes;
        public int Length;

        public void Append(ReadOnlySpan<byte> bytes)
        {
            if (!keep)
            {
                return;
            }

            // The decoder caps the section at MaxTrailerBytes; the final CRLF fits in the slack.
            Bytes ??= EngineBuffers.Rent(ChunkedDecoder.MaxTrailerBytes + 16);
            var room = Math.Min(bytes.Length, Bytes.Length - Length);
            bytes[..room].CopyTo(Bytes.AsSpan(Length));
            Length += room;
        }
    }

    /// <summary>
    /// For an exception filter: a response body that broke off, timed out or turned malformed leaves the backend
    /// connection with unknown framing. Records why it is closed; never catches (returns false).
    /// </summary>
    private bool NoteReadFailure(bool isRequestBody, DeadlineTimer timer)
    {
        if (!isRequestBody)
        {
            _discardReason = timer.IsCancellationRequested ? DiscardReason.ResponseTimeout : DiscardReason.InvalidResponse;
        }

        return false;
    }

    private static long WalkChunks(ref ChunkedDecoder decoder, in ReadOnlySequence<byte> buffer, out bool done)
    {
        long total = 0;
        foreach (var segment in buffer)
        {
            var status = decoder.Advance(segment.Span, out var consumed);
            total += consumed;
            if (status == ChunkedStatus.Done)
            {
                done = true;
                return total;
            }

            if (status == ChunkedStatus.Invalid)
            {
                throw new InvalidDataException("Malformed chunked body.");
            }
        }

        done = false;
        return total;
    }
}
