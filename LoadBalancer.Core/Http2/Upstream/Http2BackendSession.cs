using System.Buffers;
using System.Buffers.Binary;
using LoadBalancer.Core.Http2.Frames;
using LoadBalancer.Core.Http2.Hpack;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Transport;

namespace LoadBalancer.Core.Http2.Upstream;

/// <summary>
/// One HTTP/2 connection from lb to a backend of an h2 pool (RFC 9113, lb as the client): the preface and SETTINGS,
/// then one read loop that checks every frame and hands each stream its response head, DATA and trailers, while the
/// requests' own tasks write their HEADERS and DATA under the connection's write lock. Streams are multiplexed up to
/// the backend's SETTINGS_MAX_CONCURRENT_STREAMS. A GOAWAY lets the streams at or below its last-stream-id finish and
/// marks the rest refused (never processed: the request may go elsewhere). Any connection error, an EOF, or a frame lb
/// cannot account for ends the connection with every stream on it: its framing is in doubt, so nothing more is sent.
/// </summary>
internal sealed partial class Http2BackendSession : Http2Endpoint<Http2BackendStream>
{
    /// <summary>
    /// Each stream's receive window: the protocol's default 64 KiB, which is also the one pooled buffer a stream's
    /// response DATA waits in until its client takes it. lb gives window back only for bytes it sent on to the client,
    /// so a slow client holds back its own stream (backpressure reaches the backend) and never more than 64 KiB of lb's
    /// memory, while the other streams on the connection keep flowing.
    /// </summary>
    public const int StreamWindow = 65_535;

    // The connection window needs no bound of its own (each stream's buffer bounds what lb holds): 16 MiB lets 256
    // streams have full windows in flight, and is given back as DATA arrives.
    private const int ConnectionWindow = 16 << 20;

    private const int MaxHeaderListSize = 64 * 1024;
    private const int MaxHeaderFields = 256;

    private readonly BackendConnection _connection;
    private readonly Http2SessionSet _set;
    private readonly DeadlineTimer _readTimer;
    private readonly DeadlineTimer _writeTimer;
    private readonly TimeSpan _idle;
    private readonly TimeSpan _sendTimeout;
    private readonly HpackDecoder _decoder = new(4096, MaxHeaderListSize, MaxHeaderFields);
    private readonly HpackField[] _fields = new HpackField[MaxHeaderFields];
    private readonly TaskCompletionSource<bool> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private bool _settingsReceived;
    private int _receiveConsumed;
    private int _nextStreamId = 1;
    private int _reserved;
    private int _goAwayLastStreamId = int.MaxValue;
    private volatile bool _goingAway;
    private volatile bool _dead;
    private DiscardReason _discardReason = DiscardReason.BackendClosed;


    public Http2BackendSession(Proxy.ProxyEngine engine, BackendConnection connection, Http2SessionSet set, PoolTimeouts timeouts, TimeSpan sendTimeout)
    {
        _connection = connection;
        _set = set;
        _idle = timeouts.Idle;
        _sendTimeout = sendTimeout;
        _readTimer = engine.Sockets.CreateTimer();
        _writeTimer = engine.Sockets.CreateTimer();
    }

    public BackendState Backend => _connection.Backend;

    /// <summary>Whether a request whose TLS name is <paramref name="host"/> may use this connection (see <see cref="BackendConnection.ServesTlsHost"/>).</summary>
    public bool ServesTlsHost(ReadOnlySpan<byte> host) => _connection.ServesTlsHost(host);

    /// <summary>The streams the backend allows at once (its SETTINGS_MAX_CONCURRENT_STREAMS).</summary>
    private int MaxStreams => (int)Math.Min(_peer.MaxConcurrentStreams, int.MaxValue);

    /// <summary>True once the backend's GOAWAY arrived or the connection failed: it takes no new streams.</summary>
    public bool GoingAway => _goingAway || _dead;

    /// <summary>
    /// Sends the preface and lb's SETTINGS, starts the read loop, and waits (up to <paramref name="timeout"/>) for the
    /// backend's SETTINGS: its stream limit is known before the first request. False: not an HTTP/2 server, or gone.
    /// </summary>
    public async ValueTask<bool> StartAsync(TimeSpan timeout)
    {
        _ = ReadLoopAsync();
        var ready = await Task.WhenAny(_ready.Task, Task.Delay(timeout)).ConfigureAwait(false) == _ready.Task && _ready.Task.Result;
        if (!ready)
        {
            _discardReason = DiscardReason.InvalidResponse;
            Close();
        }

        return ready;
    }

    /// <summary>
    /// lb retires this connection (a reload removed its backend or changed its pool's protocol, or lb drains): GOAWAY
    /// (NO_ERROR; last-stream-id 0, as lb accepts no pushed streams), no new streams, and the connection closes once the
    /// streams in flight end, or after <paramref name="drainTimeout"/> (the idle deadline then cuts what is left).
    /// Never throws.
    /// </summary>
    public async Task RetireAsync(TimeSpan drainTimeout)
    {
        if (_goingAway || _dead)
        {
            return;
        }

        _goingAway = true;
        try
        {
            await SendFrameAsync(0, static (buffer, _) => Http2FrameWriter.WriteGoAway(buffer, 0, Http2ErrorCode.NoError)).ConfigureAwait(false);
            await FlushAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (IsNetworkError(ex))
        {
            // The backend is gone already: the read loop ends the connection.
        }

        // Unreserve closes it at the last stream's end from now on; if that came before the flag was seen, close here.
        if (Volatile.Read(ref _reserved) == 0)
        {
            Close();
            return;
        }

        _readTimer.Arm(drainTimeout);
    }

    /// <summary>Takes one stream of the backend's limit for a request; false when the connection is full or going away.</summary>
    public bool TryReserve()
    {
        while (true)
        {
            var reserved = Volatile.Read(ref _reserved);
            if (GoingAway || reserved >= MaxStreams)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _reserved, reserved + 1, reserved) == reserved)
            {
                _readTimer.Disarm();
                return true;
            }
        }
    }

    /// <summary>Gives back a reservation whose stream is done (or was never opened); the idle deadline starts at the last one.</summary>
    private void Unreserve()
    {
        if (Interlocked.Decrement(ref _reserved) != 0)
        {
            return;
        }

        if (_goingAway)
        {
            Close();
            return;
        }

        _readTimer.Arm(_idle);
        if (Volatile.Read(ref _reserved) != 0)
        {
            _readTimer.Disarm();
        }
    }

    /// <summary>
    /// Opens <paramref name="stream"/> with its encoded request header block (HEADERS, then CONTINUATION frames past
    /// the frame size); <paramref name="endStream"/> when the request has no body. False: the connection is gone or
    /// the backend's GOAWAY came first, and nothing of the request was sent (it may go elsewhere).
    /// </summary>
    public async ValueTask<bool> OpenStreamAsync(Http2BackendStream stream, ReadOnlyMemory<byte> block, bool endStream)
    {
        await AcquireWriteAsync().ConfigureAwait(false);
        try
        {
            if (GoingAway || _nextStreamId > int.MaxValue - 2)
            {
                return false;
            }

            var id = _nextStreamId;
            _nextStreamId += 2;
            lock (_flowLock)
            {
                stream.Opened(this, id, _peer.InitialWindowSize);
            }

            lock (_streams)
            {
                _streams[id] = stream;
            }

            await WriteHeaderFramesLockedAsync(id, block, endStream).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (IsNetworkError(ex))
        {
            Close();
            return false;
        }
        finally
        {
            ReleaseWrite();
        }
    }

    /// <summary>A last header block on an open stream (request trailers), with END_STREAM.</summary>
    public async ValueTask SendTrailersAsync(Http2BackendStream stream, ReadOnlyMemory<byte> block)
    {
        await AcquireWriteAsync().ConfigureAwait(false);
        try
        {
            ThrowIfGone(stream);
            await WriteHeaderFramesLockedAsync(stream.Id, block, endStream: true).ConfigureAwait(false);
        }
        finally
        {
            ReleaseWrite();
        }
    }

    /// <summary>
    /// Request body bytes as DATA frames within the backend's frame size and both send windows; waits (up to the
    /// send timeout at a time) while a window is closed. <paramref name="endStream"/> ends the stream with the last frame.
    /// </summary>
    public async ValueTask SendDataAsync(Http2BackendStream stream, ReadOnlyMemory<byte> data, bool endStream)
    {
        do
        {
            ThrowIfGone(stream);
            var take = TakeSendWindow(stream, data.Length);

            if (take <= 0 && data.Length > 0)
            {
                if (!await stream.WaitForWindowAsync(_sendTimeout).ConfigureAwait(false))
                {
                    throw new TimeoutException("The backend granted no flow-control window within body_idle.");
                }

                continue;
            }

            await AcquireWriteAsync().ConfigureAwait(false);
            try
            {
                ThrowIfGone(stream);
                var last = take == data.Length;
                var w = Http2FrameWriter.WriteHeader(WriteBuffer, take, Http2FrameType.Data, last && endStream ? Http2Flags.EndStream : (byte)0, stream.Id);
                data.Span[..take].CopyTo(WriteBuffer.AsSpan(w));
                await SendLockedAsync(WriteBuffer.AsMemory(0, w + take)).ConfigureAwait(false);
            }
            finally
            {
                ReleaseWrite();
            }

            data = data[take..];
        }
        while (data.Length > 0);
    }

    /// <summary>Gives the backend back window for response bytes lb forwarded to the client (stream and connection).</summary>
    public async ValueTask GrantAsync(Http2BackendStream stream, int increment)
    {
        await AcquireWriteAsync().ConfigureAwait(false);
        try
        {
            if (_dead || stream.ReceiveEnded)
            {
                return;
            }

            var w = Http2FrameWriter.WriteWindowUpdate(WriteBuffer, stream.Id, increment);
            await SendLockedAsync(WriteBuffer.AsMemory(0, w)).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsNetworkError(ex))
        {
            Close();
        }
        finally
        {
            ReleaseWrite();
        }
    }

    /// <summary>
    /// The request is done with <paramref name="stream"/>: it leaves the connection, which is told RST_STREAM CANCEL
    /// when either side had not ended it (the exchange stopped early). The reservation goes back.
    /// </summary>
    public async ValueTask ReleaseAsync(Http2BackendStream stream, bool opened)
    {
        if (opened)
        {
            bool present;
            lock (_streams)
            {
                present = _streams.Remove(stream.Id);
            }

            if (present && !stream.Complete && !_dead)
            {
                await ResetAsync(stream.Id, Http2ErrorCode.Cancel).ConfigureAwait(false);
            }
        }

        Unreserve();
    }

    private async ValueTask ResetAsync(int id, Http2ErrorCode code)
    {
        try
        {
            await SendFrameAsync((id, code), static (buffer, s) => Http2FrameWriter.WriteRstStream(buffer, s.id, s.code)).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsNetworkError(ex))
        {
            Close();
        }
    }

    private void ThrowIfGone(Http2BackendStream stream)
    {
        if (_dead || stream.Failed)
        {
            throw new IOException("The backend's HTTP/2 stream or connection ended.");
        }
    }

    protected override IConnection WriteTransport => _connection.Transport;

    protected override DeadlineTimer WriteTimer => _writeTimer;

    protected override TimeSpan SendTimeout => _sendTimeout;

    /// <summary>Ends the connection now (its read loop then fails the streams still on it).</summary>
    public void Close()
    {
        _dead = true;
        _set.Remove(this);
        SocketIo.Abort(_connection.Transport);
        _connection.Reader.CancelPendingRead();
    }

    private static bool IsNetworkError(Exception ex)
        => ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or OperationCanceledException or TimeoutException;
}
