using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Metrics;
using LoadBalancer.Core.Proxy.Upstream;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Transport;

using LoadBalancer.Core.Async;
using LoadBalancer.Core.Proxy;

namespace LoadBalancer.Core.Http1;

/// <summary>
/// Message bodies by their RFC 9112 framing: Content-Length counts down, chunked walks only the chunk-size lines (or is
/// decoded for an HTTP/1.0 client), close-delimited runs to EOF. A body that breaks records why the backend connection
/// cannot be reused.
/// </summary>
internal sealed partial class Http1Connection
{
    /// <summary>
    /// Copies the request body. If the copy fails — a malformed chunked body (found only while streaming it), a client
    /// that stalls past body_idle, or one that goes away — the exchange ends: the backend connection is shut down so
    /// the wait for its response ends now, and the client is answered 400 (RFC 9112 section 7.1) or 408, instead of
    /// waiting out the response-head timeout for an answer to a body the backend never got in full.
    /// </summary>
    private async Task ForwardRequestBodyAsync(IConnection backend, TimeSpan idle)
    {
        try
        {
            await ForwardBodyAsync(_clientReader, backend, _requestFraming, _requestLength, _clientTimer, idle).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidDataException || IsExpectedNetworkError(ex))
        {
            _requestBodyInvalid = ex is InvalidDataException;
            _requestBodyTimedOut = ex is OperationCanceledException && _clientTimer.IsCancellationRequested;
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
    /// Copies one message body from <paramref name="reader"/> to <paramref name="destination"/> as raw bytes, delimited by
    /// its framing: Content-Length counts down, chunked walks only the chunk-size lines, close-delimited runs to EOF.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder))]
    private async ValueTask ForwardBodyAsync(SocketReader reader, IConnection destination, BodyFraming framing, long length, DeadlineTimer timer, TimeSpan idle)
    {
        var decoder = default(ChunkedDecoder);
        var remaining = length;
        while (true)
        {
            var result = await ReadBodyBytesAsync(reader, timer, idle).ConfigureAwait(false);
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
                    catch (InvalidDataException) when (NoteReadFailure(reader, timer))
                    {
                        throw;
                    }

                    break;
                default:
                    take = buffer.Length;
                    done = result.IsCompleted;
                    break;
            }

            if (done && reader == _clientReader)
            {
                // The whole request body is read from the client: whatever the backend answers, the client connection
                // is positioned at the next request, even if this last send is still completing.
                _requestBodyRead = true;
            }

            if (take > 0)
            {
                CountBodyBytes(destination, take); // tenancy: bytes in/out, max_body_bytes for chunked bodies
                await SocketIo.SendAsync(destination, buffer.Slice(0, take), timer).ConfigureAwait(false);
            }

            reader.AdvanceTo(buffer.GetPosition(take));
            if (done)
            {
                return;
            }

            if (result.IsCompleted)
            {
                NoteReadFailure(reader, timer);
                throw new IOException("The peer closed the connection in the middle of a body.");
            }
        }
    }

    /// <summary>One read of body bytes under the body-idle deadline; a cancelled read (the exchange is over) throws.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<ReadResult> ReadBodyBytesAsync(SocketReader reader, DeadlineTimer timer, TimeSpan idle)
    {
        ArmTimer(timer, idle);
        ReadResult result;
        try
        {
            result = await reader.ReadAsync(timer).ConfigureAwait(false);
        }
        catch (Exception) when (NoteReadFailure(reader, timer))
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
    /// Copies a chunked response body to an HTTP/1.0 client as its bare content (trailers dropped): chunk data is
    /// gathered in <see cref="_out"/> (free once the head is sent) and sent when it fills or the read buffer is used up.
    /// The connection close ends the body for the client (the head said Connection: close).
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder))]
    private async ValueTask ForwardDechunkedAsync(SocketReader reader, DeadlineTimer timer, TimeSpan idle)
    {
        var decoder = default(ChunkedDecoder);
        var staging = _out!;
        while (true)
        {
            var result = await ReadBodyBytesAsync(reader, timer, idle).ConfigureAwait(false);
            var buffer = result.Buffer;

            var (taken, staged, done) = TakeContent(ref decoder, buffer, staging, out var invalid);
            if (invalid)
            {
                NoteReadFailure(reader, timer);
                throw new InvalidDataException("Malformed chunked body.");
            }

            if (staged > 0)
            {
                CountBodyBytes(_client, staged); // tenancy: bytes out
                await SocketIo.SendAsync(_client, staging.AsMemory(0, staged), timer).ConfigureAwait(false);
            }

            reader.AdvanceTo(buffer.GetPosition(taken));
            if (done)
            {
                return;
            }

            if (result.IsCompleted && taken == buffer.Length)
            {
                NoteReadFailure(reader, timer);
                throw new IOException("The peer closed the connection in the middle of a body.");
            }
        }
    }

    /// <summary>
    /// Walks <paramref name="buffer"/> with the decoder, copying chunk data into <paramref name="staging"/> until it is
    /// full: returns the bytes of the buffer taken, the content bytes staged, and whether the body ended.
    /// </summary>
    private static (long Taken, int Staged, bool Done) TakeContent(ref ChunkedDecoder decoder, in ReadOnlySequence<byte> buffer, byte[] staging, out bool invalid)
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

                var status = decoder.AdvanceContent(span[..Math.Min(span.Length, room)], out var consumed, out var content);
                span.Slice(consumed - content, content).CopyTo(staging.AsSpan(staged));
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

    /// <summary>
    /// For an exception filter: a response body that broke off, timed out or turned malformed leaves the backend
    /// connection with unknown framing. Records why it is closed; never catches (returns false).
    /// </summary>
    private bool NoteReadFailure(SocketReader reader, DeadlineTimer timer)
    {
        if (reader != _clientReader)
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
