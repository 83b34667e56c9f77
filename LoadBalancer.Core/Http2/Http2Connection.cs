using System.Buffers;
using System.Net;
using LoadBalancer.Core.Http2.Frames;
using LoadBalancer.Core.Http2.Hpack;
using LoadBalancer.Core.Metrics;
using LoadBalancer.Core.Proxy;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;
using LoadBalancer.Core.Transport;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Core.Http2;

/// <summary>
/// An HTTP/2 connection from a client (RFC 9113), after the connection preface: one read loop that checks every frame,
/// assembles header blocks, and runs each request stream as its own <see cref="Http2Stream"/> through the same
/// per-request path as HTTP/1. Writes are serialized per connection; at most one loop turn's frames (16 KiB) wait to
/// leave together (Http2Endpoint), and anything past that is sent at once, so a peer that will not read blocks only its
/// own connection until the send deadline drops it (the "flooded" rule with a queue bounded by one buffer).
/// </summary>
internal sealed partial class Http2Connection : Http2Endpoint<Http2Stream>
{
    // The settings this connection advertised (Http2Options): a reload changes them for new connections only. DATA
    // is forwarded from the read loop as it arrives, so the windows are also the most any client can have lb buffer.
    private readonly int StreamReceiveWindow;
    private readonly int ConnectionReceiveWindow;
    private readonly int MaxConcurrentStreams;
    private readonly int MaxFrameSize;
    private readonly int MaxHeaderListSize;

    private readonly IConnection _client;
    private readonly SocketReader _reader;
    private readonly ListenerRuntime _listenerRuntime;
    private readonly ProxyEngine _engine;
    private readonly DeadlineTimer _readTimer;
    private readonly DeadlineTimer _writeTimer;
    private readonly ILogger _logger;
    private readonly long _id;
    private readonly Stack<Http2Stream> _free = new();
    private readonly List<Http2Stream> _all = new();
    private readonly HpackDecoder _decoder;

    // The header-block buffers are rented while a block is assembled and decoded (and the write buffer while the
    // write lock is held): an idle HTTP/2 connection holds none of them (about 64 KiB with the default limits).
    private int _receiveConsumed;
    private int _lastStreamId;
    private int _active;
    // Going away: no new streams. Closing: our GOAWAY is written (or the client sent one), so the connection ends
    // once its streams are done. The read loop may only stop on the second, or the GOAWAY could be lost.
    private volatile bool _goingAway;
    private volatile bool _closing;
    private TaskCompletionSource? _allStreamsEnded;
    private TenantState? _connectionTenant;
    private bool _blockDeadlineArmed;
    private bool _partialFrame;

    public Http2Connection(long id, ProxyEngine engine, ListenerRuntime listener, IConnection client, SocketReader reader, DeadlineTimer readTimer, DeadlineTimer writeTimer, byte[] clientIp, IPEndPoint? clientEndPoint, Tls.TlsConnection? tls)
    {
        _id = id;
        _engine = engine;
        _logger = engine.Logger;
        _listenerRuntime = listener;
        _client = client;
        _reader = reader;
        _readTimer = readTimer;
        _writeTimer = writeTimer;
        ClientIp = clientIp;
        ClientEndPoint = clientEndPoint;
        Tls = tls;
        var limits = listener.Snapshot.Limits;
        var options = listener.Snapshot.Http2Options;
        StreamReceiveWindow = options.InitialWindowSize;
        ConnectionReceiveWindow = options.ConnectionReceiveWindow;
        MaxConcurrentStreams = options.MaxConcurrentStreams;
        MaxFrameSize = options.MaxFrameSize;
        MaxHeaderListSize = options.MaxHeaderListSize > 0 ? options.MaxHeaderListSize : limits.MaxHeadBytes;
        _resetTokens = 2 * MaxConcurrentStreams;
        _decoder = new HpackDecoder(4096, MaxHeaderListSize, limits.MaxHeaders);
        _fields = new HpackField[limits.MaxHeaders];
    }

    public byte[] ClientIp { get; }

    public IPEndPoint? ClientEndPoint { get; }

    /// <summary>The TLS transport when the listener terminates TLS; its certificate bounds the authorities served.</summary>
    public Tls.TlsConnection? Tls { get; }

    public bool Https => Tls is not null;

    public ListenerSnapshot Listener => _listenerRuntime.Snapshot;

    /// <summary>Runs the connection until the client leaves, an error ends it, or a drain finishes it. Never throws.</summary>
    public async Task RunAsync()
    {
        try
        {
            if (!await ReadPrefaceAsync().ConfigureAwait(false))
            {
                return;
            }

            await SendInitialSettingsAsync().ConfigureAwait(false);
            await ReadLoopAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The client went away or stalled: its streams end below.
        }
        finally
        {
            await EndStreamsAsync().ConfigureAwait(false);
            StopStreams();
            ReleaseBlockBuffers();
            _connectionTenant?.DetachConnection();
            _connectionTenant = null;

            // The caller closes the socket next: frames still queued for the loop's turn (a GOAWAY) go first.
            await FlushAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The engine drains: GOAWAY now, no new streams, and the connection closes once its streams finish.</summary>
    public void OnDrain()
    {
        _ = GoAwayAsync(Http2ErrorCode.NoError);
    }

    public void OnAbort()
    {
        Http2Stream[] streams;
        lock (_streams)
        {
            streams = [.. _streams.Values];
        }

        foreach (var stream in streams)
        {
            stream.Abort();
        }
    }

    /// <summary>For the engine's sweep: the deadlines of this connection's streams.</summary>
    public void CollectDue(long now, List<DeadlineTimer> due)
    {
        lock (_streams)
        {
            foreach (var stream in _all)
            {
                if (stream.Timer.TakeIfDue(now))
                {
                    due.Add(stream.Timer);
                }
            }
        }
    }

    /// <summary>
    /// The shared routing step for a stream, with the connection's own tenant slot (max_connections counts connections,
    /// not streams). Streams are routed one at a time, on the connection's read loop, before their first await.
    /// </summary>
    public Admission Route(ProxyExchange exchange, ListenerSnapshot listener, in Http.RequestView request)
        => exchange.RouteRequest(listener, request, ClientIp, ref _connectionTenant, out _);

    private async ValueTask<bool> ReadPrefaceAsync()
    {
        var prefaceLength = Http2FrameWriter.ClientPreface.Length;
        _readTimer.Arm(Listener.Timeouts.RequestHead);
        while (true)
        {
            var result = await _reader.ReadAsync(_readTimer).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (buffer.Length >= prefaceLength)
            {
                var ok = IsPreface(buffer);
                _reader.AdvanceTo(buffer.GetPosition(prefaceLength));
                return ok;
            }

            if (result.IsCompleted || result.IsCanceled)
            {
                _reader.AdvanceTo(buffer.End);
                return false;
            }

            _reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static bool IsPreface(in ReadOnlySequence<byte> buffer)
    {
        Span<byte> start = stackalloc byte[24];
        buffer.Slice(0, start.Length).CopyTo(start);
        return start.SequenceEqual(Http2FrameWriter.ClientPreface);
    }

    private async ValueTask SendInitialSettingsAsync()
    {
        var ours = new Http2Settings
        {
            MaxConcurrentStreams = (uint)MaxConcurrentStreams,
            MaxHeaderListSize = (uint)MaxHeaderListSize,
            InitialWindowSize = StreamReceiveWindow,
            MaxFrameSize = MaxFrameSize,
        };
        await AcquireWriteAsync().ConfigureAwait(false);
        try
        {
            var w = Http2FrameWriter.WriteSettings(WriteBuffer, ours);
            w += Http2FrameWriter.WriteWindowUpdate(WriteBuffer.AsSpan(w), 0, ConnectionReceiveWindow - 65_535);
            await SendLockedAsync(WriteBuffer.AsMemory(0, w)).ConfigureAwait(false);
        }
        finally
        {
            ReleaseWrite();
        }
    }

    private async ValueTask ReadLoopAsync()
    {
        while (true)
        {
            if (_closing && Volatile.Read(ref _active) == 0)
            {
                return;
            }

            // A header block split over CONTINUATION frames is a request head: timeouts.request_head from its first
            // frame, streams running or not (a stalled block would hold the connection's HPACK state forever). A
            // frame that arrived in part waits at most body_idle for the rest; otherwise an idle connection gets
            // keep_alive, and one with running streams waits for them.
            if (_blockStream != 0)
            {
                if (!_blockDeadlineArmed)
                {
                    _readTimer.Arm(Listener.Timeouts.RequestHead);
                    _blockDeadlineArmed = true;
                }
            }
            else
            {
                _blockDeadlineArmed = false;
                if (_partialFrame)
                {
                    _readTimer.Arm(Listener.Timeouts.BodyIdle);
                }
                else if (Volatile.Read(ref _active) == 0)
                {
                    _readTimer.Arm(Listener.Timeouts.KeepAlive);
                }
                else
                {
                    _readTimer.Disarm();
                }
            }

            var result = await _reader.ReadAsync(_readTimer).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (result.IsCanceled)
            {
                _reader.AdvanceTo(buffer.Start);
                continue;
            }

            while (true)
            {
                var status = Http2FrameReader.TryRead(buffer, MaxFrameSize, out var header, out var payload, out var fault);
                if (status == Http2ReadStatus.NeedMore)
                {
                    break;
                }

                if (status == Http2ReadStatus.Fault)
                {
                    Count(fault.Code, fault.Reason);
                    if (!fault.StreamOnly)
                    {
                        Log.Http2ProtocolError(_logger, _id, fault.Reason);
                        await GoAwayAsync(fault.Code).ConfigureAwait(false);
                        _reader.AdvanceTo(buffer.End);
                        return;
                    }

                    await ResetStreamAsync(header.StreamId, fault.Code).ConfigureAwait(false);
                }
                else if (!await HandleFrameAsync(header, payload).ConfigureAwait(false))
                {
                    _reader.AdvanceTo(buffer.End);
                    return;
                }

                buffer = buffer.Slice(Http2FrameHeader.Size + header.Length);
            }

            if (result.IsCompleted)
            {
                _reader.AdvanceTo(buffer.End);
                return;
            }

            _partialFrame = !buffer.IsEmpty;
            _reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    protected override IConnection WriteTransport => _client;

    protected override DeadlineTimer WriteTimer => _writeTimer;

    /// <summary>Each send is bounded by body_idle (read at each send: a reload changes it).</summary>
    protected override TimeSpan SendTimeout => Listener.Timeouts.BodyIdle;

    private async ValueTask GoAwayAsync(Http2ErrorCode code)
    {
        if (_goingAway && code == Http2ErrorCode.NoError)
        {
            return;
        }

        _goingAway = true;
        await AcquireWriteAsync().ConfigureAwait(false);
        try
        {
            var w = Http2FrameWriter.WriteGoAway(WriteBuffer, Volatile.Read(ref _lastStreamId), code);
            await SendLockedAsync(WriteBuffer.AsMemory(0, w)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The client is gone; the connection closes anyway.
        }
        finally
        {
            ReleaseWrite();
        }

        _closing = true;
        if (Volatile.Read(ref _active) == 0)
        {
            _reader.CancelPendingRead();
        }
    }

    /// <summary>Every stream has ended: their objects' loops end with the connection.</summary>
    private void StopStreams()
    {
        Http2Stream[] all;
        lock (_streams)
        {
            all = [.. _all];
        }

        foreach (var stream in all)
        {
            stream.Stop();
        }
    }

    private async ValueTask EndStreamsAsync()
    {
        TaskCompletionSource? waiter = null;
        lock (_streams)
        {
            _goingAway = true;
            if (_active > 0)
            {
                waiter = _allStreamsEnded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        if (waiter is not null)
        {
            OnAbort();
            await waiter.Task.ConfigureAwait(false);
        }
    }
}
