using System.Buffers;
using LoadBalancer.Core.Http2.Frames;
using LoadBalancer.Core.Http2.Hpack;
using LoadBalancer.Core.Transport;

namespace LoadBalancer.Core.Http2.Upstream;

/// <summary>
/// One request's stream on an HTTP/2 backend connection, between the connection's read loop (which fills it) and the
/// request's exchange (which takes from it): the response head translated to HTTP/1, response DATA in one pooled
/// 64 KiB buffer that flow control bounds, the trailers, and how the stream ended. One per upstream exchange, reused
/// for each of its requests, so a request allocates nothing here beyond the pooled buffers.
/// </summary>
internal sealed class Http2BackendStream : IHttp2SendWindow
{
    /// <summary>How a stream ended other than by its response: refused streams were never processed by the backend.</summary>
    public enum Outcome
    {
        None,
        Refused,
        Reset,
        Lost,
        Malformed,
    }

    private readonly object _lock = new();
    private readonly SemaphoreSlim _signal = new(0);
    private readonly SemaphoreSlim _window = new(0);
    private readonly bool _emptyBodyLength;

    private byte[]? _head;
    private int _headLength;
    private bool _headEndsStream;
    private byte[]? _data;
    private int _dataStart;
    private int _dataCount;
    private int _unacknowledged;
    private byte[]? _trailers;
    private int _trailersLength;
    private bool _ended;
    private bool _requestEnded;
    private volatile Outcome _outcome;
    private long _declaredLength;
    private long _received;

    /// <param name="emptyBodyLength">The client speaks HTTP/1: a response without body gets content-length: 0 (see <see cref="Http2ResponseTranslator"/>).</param>
    public Http2BackendStream(bool emptyBodyLength) => _emptyBodyLength = emptyBodyLength;

    public Http2BackendSession? Session { get; private set; }

    public int Id { get; private set; }

    /// <summary>What the backend lets lb send on this stream; changed by the session under its flow lock.</summary>
    public int SendWindow { get; set; }

    /// <summary>A final response head arrived (translated; see <see cref="Head"/>).</summary>
    public bool HasHead
    {
        get
        {
            lock (_lock)
            {
                return _head is not null;
            }
        }
    }

    public ReadOnlyMemory<byte> Head => _head.AsMemory(0, _headLength);

    /// <summary>The head came with END_STREAM: no body, no trailers (gRPC's trailers-only responses).</summary>
    public bool HeadEndsStream => _headEndsStream;

    public bool Failed => _outcome != Outcome.None;

    public Outcome Failure => _outcome;

    /// <summary>The backend ended its side (END_STREAM), or the stream failed: no window to give back.</summary>
    public bool ReceiveEnded => _ended || Failed;

    /// <summary>Both sides ended it: releasing it needs no RST_STREAM.</summary>
    public bool Complete => _ended && _requestEnded && !Failed;

    public ReadOnlyMemory<byte> Trailers => _trailers.AsMemory(0, _trailersLength);

    /// <summary>Ready for a new request (called before the session opens it).</summary>
    public void Reset()
    {
        ReturnBuffers();
        lock (_lock)
        {
            Session = null;
            Id = 0;
        }

        _headEndsStream = false;
        _dataStart = 0;
        _dataCount = 0;
        _unacknowledged = 0;
        _ended = false;
        _requestEnded = false;
        _outcome = Outcome.None;
        _declaredLength = -1;
        _received = 0;
        while (_signal.CurrentCount > 0)
        {
            _signal.Wait(0);
        }

        while (_window.CurrentCount > 0)
        {
            _window.Wait(0);
        }
    }

    /// <summary>The session gave it an id (under its flow lock, so the window is the one the backend allows now).</summary>
    public void Opened(Http2BackendSession session, int id, int sendWindow)
    {
        lock (_lock)
        {
            Session = session;
            Id = id;
        }

        SendWindow = sendWindow;
    }

    /// <summary>lb sent its END_STREAM.</summary>
    public void RequestEnded() => _requestEnded = true;

    /// <summary>Waits for news from the read loop (a head, data, the end, a failure), up to <paramref name="timeout"/>; false when none came.</summary>
    public Task<bool> WaitAsync(TimeSpan timeout) => _signal.WaitAsync(timeout);

    public void WindowOpened() => _window.Release();

    public Task<bool> WaitForWindowAsync(TimeSpan timeout) => _window.WaitAsync(timeout);

    /// <summary>The stream ended without (the rest of) its response; the waits wake.</summary>
    public void Fail(Outcome outcome)
    {
        lock (_lock)
        {
            if (_outcome == Outcome.None && !(_ended && outcome != Outcome.Malformed))
            {
                _outcome = outcome;
            }
        }

        _signal.Release();
        _window.Release();
    }

    /// <summary>
    /// A decoded header block from the read loop: a 1xx (dropped: lb answers 100 Continue itself), the final head
    /// (translated to HTTP/1 into a pooled buffer), or trailers (which must end the stream). False: malformed.
    /// </summary>
    public bool OnHeaders(Http2BackendSession session, int id, ReadOnlySpan<byte> decoded, ReadOnlySpan<HpackField> fields, bool endStream)
    {
        lock (_lock)
        {
            if (Session != session || Id != id)
            {
                // Released (and perhaps reused) since the read loop found it: not this stream's answer any more.
                return true;
            }

            if (_ended)
            {
                return false;
            }

            if (_head is null)
            {
                var buffer = EngineBuffers.Rent(Http2ResponseTranslator.MaxLength(decoded.Length, fields.Length));
                var length = Http2ResponseTranslator.TranslateHead(decoded, fields, endStream, _emptyBodyLength, buffer, out var status, out var hasLength, out _);
                if (length < 0 || status == 101 || (status < 200 && endStream))
                {
                    EngineBuffers.Return(buffer);
                    return false;
                }

                if (status < 200)
                {
                    EngineBuffers.Return(buffer);
                    return true;
                }

                _declaredLength = hasLength ? ContentLength(decoded, fields) : -1;
                if (hasLength && _declaredLength < 0)
                {
                    EngineBuffers.Return(buffer);
                    return false;
                }

                _head = buffer;
                _headLength = length;
                _headEndsStream = endStream;
                _ended = endStream;
            }
            else
            {
                if (!endStream)
                {
                    return false;
                }

                var buffer = EngineBuffers.Rent(Http2ResponseTranslator.MaxLength(decoded.Length, fields.Length));
                var length = Http2ResponseTranslator.TranslateTrailers(decoded, fields, buffer, out _);
                if (length < 0 || (_declaredLength >= 0 && _received != _declaredLength))
                {
                    EngineBuffers.Return(buffer);
                    return false;
                }

                _trailers = buffer;
                _trailersLength = length;
                _ended = true;
            }
        }

        _signal.Release();
        return true;
    }

    /// <summary>
    /// DATA from the read loop, copied into the stream's buffer. An error code for a stream error: DATA before the head
    /// or after the end (STREAM_CLOSED), more than the window lb granted (FLOW_CONTROL_ERROR), or a body longer or
    /// shorter than its content-length (PROTOCOL_ERROR, section 8.1.1).
    /// </summary>
    public Http2ErrorCode OnData(Http2BackendSession session, int id, in ReadOnlySequence<byte> content, int frameLength, bool endStream)
    {
        Http2ErrorCode error;
        lock (_lock)
        {
            if (Session != session || Id != id)
            {
                return Http2ErrorCode.NoError;
            }

            error = _head is null || _ended ? Http2ErrorCode.StreamClosed
                : _unacknowledged + frameLength > Http2BackendSession.StreamWindow ? Http2ErrorCode.FlowControlError
                : Http2ErrorCode.NoError;
            if (error == Http2ErrorCode.NoError)
            {
                _received += content.Length;
                if (_declaredLength >= 0 && (_received > _declaredLength || (endStream && _received != _declaredLength)))
                {
                    error = Http2ErrorCode.ProtocolError;
                }
            }

            if (error == Http2ErrorCode.NoError)
            {
                // Padding takes window but no room: it is given back at once with the next grant.
                _unacknowledged += frameLength;
                var padding = frameLength - (int)content.Length;
                _data ??= EngineBuffers.Rent(Http2BackendSession.StreamWindow);
                var end = (_dataStart + _dataCount) % _data.Length;
                foreach (var segment in content)
                {
                    var span = segment.Span;
                    while (!span.IsEmpty)
                    {
                        var run = Math.Min(span.Length, _data.Length - end);
                        span[..run].CopyTo(_data.AsSpan(end));
                        span = span[run..];
                        end = (end + run) % _data.Length;
                        _dataCount += run;
                    }
                }

                _pendingGrant += padding;
                _ended = endStream;
            }
        }

        if (error != Http2ErrorCode.NoError)
        {
            Fail(error == Http2ErrorCode.FlowControlError ? Outcome.Reset : Outcome.Malformed);
            return error;
        }

        _signal.Release();
        return error;
    }

    private int _pendingGrant;

    /// <summary>
    /// Copies buffered response bytes into <paramref name="destination"/>; <paramref name="ended"/> once the backend
    /// ended the stream and every byte was taken. The bytes stay counted against the window until <see cref="TakeGrant"/>.
    /// </summary>
    public int TakeData(Span<byte> destination, out bool ended)
    {
        lock (_lock)
        {
            var taken = 0;
            while (_dataCount > 0 && taken < destination.Length)
            {
                var run = Math.Min(Math.Min(_dataCount, _data!.Length - _dataStart), destination.Length - taken);
                _data.AsSpan(_dataStart, run).CopyTo(destination[taken..]);
                _dataStart = (_dataStart + run) % _data.Length;
                _dataCount -= run;
                taken += run;
            }

            _pendingGrant += taken;
            ended = _ended && _dataCount == 0;
            return taken;
        }
    }

    /// <summary>
    /// The window to give back now that taken bytes went to the client: every quarter window (fewer WINDOW_UPDATEs),
    /// 0 otherwise.
    /// </summary>
    public int TakeGrant()
    {
        lock (_lock)
        {
            if (_pendingGrant < Http2BackendSession.StreamWindow / 4 || _ended)
            {
                return 0;
            }

            var grant = _pendingGrant;
            _pendingGrant = 0;
            _unacknowledged -= grant;
            return grant;
        }
    }

    /// <summary>Whether buffered data, the end, or a failure is there to act on.</summary>
    public bool HasNews
    {
        get
        {
            lock (_lock)
            {
                return _dataCount > 0 || _ended || _outcome != Outcome.None;
            }
        }
    }

    public void ReturnBuffers()
    {
        lock (_lock)
        {
            Return(ref _head);
            Return(ref _data);
            Return(ref _trailers);
            _headLength = 0;
            _trailersLength = 0;
        }
    }

    private static void Return(ref byte[]? buffer)
    {
        if (buffer is not null)
        {
            EngineBuffers.Return(buffer);
            buffer = null;
        }
    }

    private static long ContentLength(ReadOnlySpan<byte> decoded, ReadOnlySpan<HpackField> fields)
    {
        long length = -1;
        foreach (var field in fields)
        {
            if (!field.Name(decoded).SequenceEqual("content-length"u8))
            {
                continue;
            }

            if (!long.TryParse(field.Value(decoded), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value) || (length >= 0 && value != length))
            {
                return -1;
            }

            length = value;
        }

        return length;
    }
}
