using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using LoadBalancer.Core.Async;
using System.Buffers;
using System.Net;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Http1;
using LoadBalancer.Core.Proxy;
using LoadBalancer.Core.Proxy.Upstream;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;
using LoadBalancer.Core.Transport;

namespace LoadBalancer.Core.Http2;

/// <summary>
/// One HTTP/2 request stream, as the upstream exchange's downstream: its request (translated to an HTTP/1 head by
/// <see cref="Http2RequestTranslator"/> and parsed like any client's), its body from DATA frames, and its response
/// as HEADERS and DATA frames through the connection. It runs the same steps as an HTTP/1 request: ProxyExchange
/// tenant lookup and admission, the head writer with edits, and <see cref="Http1Upstream"/> to the pool. Stream objects
/// are reused by their connection, so a stream costs no allocation beyond its pooled buffers once the connection has
/// seen as many concurrent streams.
/// </summary>
internal sealed partial class Http2Stream : IDownstream, IValueTaskSource<bool>, IHttp2SendWindow
{
    private readonly Http2Connection _connection;
    private readonly ProxyExchange _exchange = new();
    private readonly Http1HeadState _heads = new();
    private readonly Http1Upstream _upstream;

    private byte[]? _requestHead;
    private int _requestHeadLength;
    private byte[]? _out;
    private int _outLength;
    private PoolSnapshot? _pool;
    private ListenerSnapshot? _listener;
    private BodyFraming _requestFraming;
    private bool _isHeadRequest;
    private bool _expectContinue;
    private bool _idempotent;
    private bool _wantsJson;

    // A gRPC request (content-type application/grpc...): lb's own answers take gRPC's form (GrpcReply).
    private bool _grpc;

    // Its grpc-timeout: bounds the wait for the response head (then 504 deadline_exceeded, gRPC DEADLINE_EXCEEDED).
    private TimeSpan? _grpcDeadline;
    private LocalReplyCause? _replyCause;
    private int _closeReason;

    // The stream object's lifelong loop (see Start): one exchange per signal, so a request allocates no task of its own.
    private ManualResetValueTaskSourceCore<bool> _start;
    private ListenerSnapshot? _startListener;

    public Http2Stream(Http2Connection connection, ProxyEngine engine)
    {
        _connection = connection;
        Timer = engine.Sockets.CreateSessionTimer();
        _upstream = new Http1Upstream(engine, this, _exchange, Timer, _heads);
        _window = new SemaphoreSlim(0);
        _bodyLock = new SemaphoreSlim(1, 1);
        _ = LoopAsync();
    }

    /// <summary>
    /// Runs the opened exchange, inline up to its first wait as a direct call would. The connection pools stream
    /// objects, and each one's loop awaits the next start: measured with h2load (64 x 10) before this, a fresh
    /// async Task per stream was most of the ~550 B lb allocated per HTTP/2 request.
    /// </summary>
    public void Start(ListenerSnapshot listener)
    {
        _startListener = listener;
        _start.SetResult(true);
    }

    /// <summary>Ends the loop of a stream that is not running (the connection has ended).</summary>
    public void Stop() => _start.SetResult(false);

    private async Task LoopAsync()
    {
        while (true)
        {
            var run = await new ValueTask<bool>(this, _start.Version).ConfigureAwait(false);
            // Only the loop resets, once it has the result: a reset by Start could drop the loop's registered await.
            _start.Reset();
            if (!run)
            {
                return;
            }

            await RunAsync(_startListener!).ConfigureAwait(false);
        }
    }

    bool IValueTaskSource<bool>.GetResult(short token) => _start.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _start.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _start.OnCompleted(continuation, state, token, flags);

    public int Id { get; private set; }

    private int _unacknowledged;

    /// <summary>DATA bytes received and not yet given back to the client as window: at most the stream window.</summary>
    public int Unacknowledged => Volatile.Read(ref _unacknowledged);

    public void Received(int length) => Interlocked.Add(ref _unacknowledged, length);

    /// <summary>Takes every unacknowledged byte for a WINDOW_UPDATE (0 when there is none).</summary>
    public int TakeUnacknowledged() => Interlocked.Exchange(ref _unacknowledged, 0);

    // Padding received while the window comes back only as content is forwarded: owed to the client on its own.
    private int _paddingOwed;

    /// <summary>
    /// Counts <paramref name="padding"/> as owed; once at least <paramref name="threshold"/> is, returns it all for a
    /// WINDOW_UPDATE (and it is no longer unacknowledged), else 0. From the read loop only.
    /// </summary>
    public int OwePadding(int padding, int threshold)
    {
        _paddingOwed += padding;
        if (_paddingOwed < threshold)
        {
            return 0;
        }

        var owed = _paddingOwed;
        _paddingOwed = 0;
        Interlocked.Add(ref _unacknowledged, -owed);
        return owed;
    }

    /// <summary>The backend side's deadline; the client connection's sweep finds it through its streams.</summary>
    public DeadlineTimer Timer { get; }

    /// <summary>The stream was reset (by the client or by lb): nothing more is sent on it.</summary>
    public bool Reset { get; private set; }

    public CloseReason CloseReason => (CloseReason)Volatile.Read(ref _closeReason);

    ProxyExchange IDownstream.Exchange => _exchange;

    IPEndPoint? IDownstream.ClientEndPoint => _connection.ClientEndPoint;

    ReadOnlyMemory<byte> IDownstream.RequestHead => _out.AsMemory(0, _outLength);

    BodyFraming IDownstream.RequestFraming => _requestFraming;

    bool IDownstream.IsHeadRequest => _isHeadRequest;

    bool IDownstream.ExpectsContinue => _expectContinue;

    bool IDownstream.Retryable => _idempotent && _requestFraming == BodyFraming.None;

    /// <summary>Takes a new stream's translated HTTP/1 head (copied into the stream's pooled buffer).</summary>
    public void Open(int id, ReadOnlySpan<byte> http1Head, bool endStream, int sendWindow)
    {
        Id = id;
        Reset = false;
        _unacknowledged = 0;
        _paddingOwed = 0;
        _closeReason = 0;
        _grpc = false;
        _headersSent = false;
        _endStreamSent = false;
        _sendWindow = sendWindow;
        _requestHead = EngineBuffers.Rent(http1Head.Length);
        http1Head.CopyTo(_requestHead);
        _requestHeadLength = http1Head.Length;
        OpenBody(endStream);
    }

    /// <summary>Runs the exchange; never throws. The connection releases the stream when this ends.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder))]
    private async ValueTask RunAsync(ListenerSnapshot listener)
    {
        _listener = listener;
        try
        {
            var status = Route(listener);
            if (status != 0)
            {
                await SendLocalReplyAsync(_replyCause ?? LocalReplies.ForStatus(status)).ConfigureAwait(false);
            }
            else
            {
                await _upstream.ForwardAsync(listener, _pool!, _exchange.Route!.Timeouts, _grpcDeadline).ConfigureAwait(false);
                if (!_endStreamSent && !Reset)
                {
                    await _connection.SendDataAsync(this, ReadOnlySequence<byte>.Empty, endStream: true).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or OperationCanceledException or InvalidDataException)
        {
            SetCloseReason(Timer.IsCancellationRequested ? CloseReason.BackendResponseTimeout : CloseReason.ClientReset);
            if (!Reset)
            {
                await _connection.ResetStreamAsync(this, Frames.Http2ErrorCode.InternalError).ConfigureAwait(false);
            }
        }
        finally
        {
            _exchange.End(_connection.ClientIp, CloseReason);
            _upstream.Release(reuse: false);
            ReleaseBuffers();
            _connection.OnStreamEnded(this);
        }
    }

    /// <summary>The client reset the stream: the backend exchange stops (its connection is closed, never reused).</summary>
    public void OnReset()
    {
        Reset = true;
        SetCloseReason(CloseReason.ClientReset);
        CancelBody();
        _upstream.Abort();
        _window.Release();
    }

    public void Abort()
    {
        Reset = true;
        CancelBody();
        _upstream.Abort();
    }

    /// <summary>Tenant, admission, hash key and the head to forward; 0 or the status lb answers itself.</summary>
    private int Route(ListenerSnapshot listener)
    {
        var status = _heads.Parse(new ReadOnlySequence<byte>(_requestHead!, 0, _requestHeadLength), isRequest: true, listener.Limits);
        if (status != HeadParseStatus.Complete)
        {
            _replyCause = LocalReplies.ForHeadError(_heads.Head.ErrorStatus == 0 ? 400 : _heads.Head.ErrorStatus, _heads.Head.ErrorReason);
            SetCloseReason(CloseReason.BadRequest);
            return _replyCause.Status;
        }

        var source = _heads.Memory.Span;
        ref readonly var head = ref _heads.Head;
        var headers = _heads.Headers.AsSpan(0, head.HeaderCount);
        _wantsJson = HeaderLookup.AcceptsJson(source, headers);
        _grpc = GrpcReply.IsGrpc(HeaderLookup.FindHeaderValue(source, headers, "content-type"));
        _grpcDeadline = _grpc && GrpcTimeout.TryParse(HeaderLookup.FindHeaderValue(source, headers, "grpc-timeout"), out var deadline) ? deadline : null;
        _expectContinue = head.ExpectContinue;
        _isHeadRequest = head.Method == Http.HttpMethod.Head;
        _idempotent = head.Method is Http.HttpMethod.Get or Http.HttpMethod.Head or Http.HttpMethod.Options or Http.HttpMethod.Put or Http.HttpMethod.Delete;
        _requestFraming = Http1Request.Framing(head);
        _declaredLength = head.ContentLength;

        if (head.Method == Http.HttpMethod.Connect)
        {
            SetCloseReason(CloseReason.BadRequest);
            _replyCause = LocalReplies.MethodNotAllowed;
            return 405;
        }

        var request = Http1Request.View(source, head, _heads.Headers);
        if (_connection.Tls is { } tls && !tls.MayServe(request.Authority))
        {
            SetCloseReason(CloseReason.UnknownTenant);
            _replyCause = LocalReplies.MisdirectedAuthority;
            return 421;
        }

        var admission = _connection.Route(_exchange, listener, request);
        if (admission.Refusal is { } refusal)
        {
            SetCloseReason(admission.CloseReason);
            _replyCause = refusal;
            return admission.Status;
        }

        _pool = _exchange.Route!.Pool;
        var edits = _exchange.ForwardEdits(_connection.Tls?.ClientCertificateLines ?? default);
        var capacity = Http1HeadWriter.RequestCapacity(head, _connection.ClientIp.Length, edits);
        _out = EngineBuffers.Rent(Math.Max(capacity, 4096));
        _outLength = Http1HeadWriter.WriteRequest(
            source,
            head,
            _heads.Headers,
            UpgradeOffer.None,
            addForwarded: listener.AddForwardedHeaders,
            trustForwarded: listener.TrustForwardedHeaders,
            _connection.ClientIp,
            _out,
            edits,
            _connection.Https);
        return 0;
    }

    private void ReleaseBuffers()
    {
        ReleaseBody();
        if (_requestHead is not null)
        {
            EngineBuffers.Return(_requestHead);
            _requestHead = null;
        }

        if (_out is not null)
        {
            EngineBuffers.Return(_out);
            _out = null;
        }

        _heads.Release();
        _pool = null;
        _listener = null;
        _replyCause = null;
    }

    void IDownstream.SetCloseReason(CloseReason reason) => SetCloseReason(reason);

    private void SetCloseReason(CloseReason reason)
        => Interlocked.CompareExchange(ref _closeReason, (int)reason, (int)CloseReason.None);
}
