using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Metrics;
using LoadBalancer.Core.Proxy.Upstream;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Transport;
using Microsoft.Extensions.Logging;
using LoadBalancer.Core.Proxy;

namespace LoadBalancer.Core.Http1;

/// <summary>
/// One client connection on an HTTP listener: read a head, route it by its own tenant key, forward head and body to a
/// backend by RFC 9112 framing, stream the response back, repeat. Only a 101 turns the connection into a byte tunnel.
/// All per-request state lives in fields and rented buffers, so a request costs no allocation.
/// </summary>
internal sealed partial class Http1Connection : IChannelOwner
{
    private static long s_nextId;

    private readonly long _id;
    // The transport the codec reads and writes (the channel itself today, a TLS stream over it later); the channel is
    // only what the engine finds the session by.
    private readonly SocketChannel _channel;
    private readonly IConnection _client;
    private readonly SocketReader _clientReader;
    private readonly ListenerRuntime _listener;
    private readonly ProxyEngine _engine;
    private readonly ILogger _logger;
    private byte[] _clientIp;
    private IPEndPoint? _clientEndPoint;

    // One deadline per side, re-armed per phase; a fired timer ends the connection, so neither is ever reset.
    private readonly DeadlineTimer _clientTimer;
    // Lent while a request is in progress, null while the connection waits for one (see Http1RequestState).
    private Http1RequestState? _state;
    private int _aborting;

    private int _closeReason;

    // Set for a TLS listener's connections: X-Forwarded-Proto says https.
    private readonly bool _https;
    private volatile bool _waitingForRequest;

    /// <param name="channel">The accepted socket.</param>
    /// <param name="client">The transport over it: the channel itself, or a <see cref="Tls.TlsConnection"/> on a TLS listener.</param>
    public Http1Connection(SocketChannel channel, IConnection client, ListenerRuntime listener)
    {
        _id = Interlocked.Increment(ref s_nextId);
        _channel = channel;
        _client = client;
        _https = client is Tls.TlsConnection;
        _listener = listener;
        _engine = listener.Engine;
        _logger = _engine.Logger;
        _clientReader = new SocketReader(client);

        // The engine's sweep finds these through this session (see IChannelOwner), on either socket engine.
        _clientTimer = _engine.Sockets.CreateSessionTimer();
        // With the address accept4 gave, the endpoint is not kept: it is made again only for a backend's PROXY header.
        if (channel.Peer.IsKnown)
        {
            _clientIp = FormatClientIp(channel.Peer.ToEndPoint());
        }
        else
        {
            _clientEndPoint = _client.RemoteEndPoint;
            _clientIp = FormatClientIp(_clientEndPoint);
        }
    }

    public long Id => _id;

    /// <summary>The client's endpoint (a PROXY header's source, when one came), made on first use.</summary>
    private IPEndPoint? ClientEndPoint => _clientEndPoint ??= _client.RemoteEndPoint;

    // The borrowed request state's parts, for code that runs only while a request is in progress.
    private ProxyExchange Exchange => _state!.Exchange;

    private Http1HeadState Heads => _state!.Heads;

    private Http1Upstream Upstream => _state!.Upstream;

    private DeadlineTimer BackendTimer => _state!.BackendTimer;

    public ListenerRuntime Listener => _listener;

    public CloseReason CloseReason => (CloseReason)Volatile.Read(ref _closeReason);

    /// <summary>Never throws: every failure is sorted into a close reason here, so the accept loop need not observe it.</summary>
    public async Task RunAsync()
    {
        // Drain, abort and the timer sweep reach this session through the engine's walk, whichever socket engine runs.
        _engine.Sockets.Attach(_channel, this);
        try
        {
            if (_listener.Snapshot.AcceptProxyProtocol && !await ReadProxyProtocolHeaderAsync().ConfigureAwait(false))
            {
                return;
            }

            if (_https && !await HandshakeAsync().ConfigureAwait(false))
            {
                return;
            }

            if (_https && ((Tls.TlsConnection)_client).NegotiatedHttp2)
            {
                await RunHttp2Async().ConfigureAwait(false);
                return;
            }

            while (true)
            {
                // Between requests the connection waits right here, in its outermost method, not inside the request
                // handling: an idle keep-alive connection then holds one suspended method instead of four (about 540
                // bytes in all) and, with the epoll engine, no buffer and no syscall until the client sends.
                if (_clientReader.IsDrained)
                {
                    GiveBackRequestState();
                    if (_listener.IsClosing)
                    {
                        SetCloseReason(CloseReason.Draining);
                        break;
                    }

                    _waitingForRequest = true;
                    ArmTimer(_clientTimer, _listener.Snapshot.Timeouts.KeepAlive);
                    try
                    {
                        await _clientReader.WaitForDataAsync(_clientTimer).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (_clientTimer.IsCancellationRequested)
                    {
                        SetCloseReason(CloseReason.KeepAliveTimeout);
                        break;
                    }
                    finally
                    {
                        _waitingForRequest = false;
                    }
                }

                BorrowRequestState();
                if (!await HandleRequestAsync().ConfigureAwait(false))
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (IsExpectedNetworkError(ex))
        {
            SetCloseReason(_clientTimer.IsCancellationRequested ? CloseReason.BodyTimeout : CloseReason.ClientReset);
        }
        catch (Exception ex)
        {
            SetCloseReason(CloseReason.Error);
            Log.ConnectionFailed(_logger, _id, ex);
        }
        finally
        {
            try
            {
                ReleaseRequestResources(reuseBackend: false);
                DetachTenant(); // tenancy: the connection no longer counts for its tenant
                await _clientReader.CompleteAsync().ConfigureAwait(false);
                SocketIo.CloseGracefully(_client);
                _clientTimer.Dispose();
                GiveBackRequestState();
                Log.ConnectionClosed(_logger, _id, CloseReason.ToString());
            }
            finally
            {
                _engine.Sockets.Detach(this);

                // Counted whatever teardown did: the drain waits on this count.
                _engine.OnSessionEnded();
            }
        }
    }

    object IChannelOwner.Engine => _engine;

    void IChannelOwner.OnDrain() => OnDrain();

    void IChannelOwner.OnAbort() => OnAbort();

    void IChannelOwner.CollectDue(long now, List<DeadlineTimer> due)
    {
        if (_clientTimer.TakeIfDue(now))
        {
            due.Add(_clientTimer);
        }

        if (Volatile.Read(ref _state) is { } state && state.BackendTimer.TakeIfDue(now))
        {
            due.Add(state.BackendTimer);
        }

        Volatile.Read(ref _http2)?.CollectDue(now, due);
    }

    private void OnDrain()
    {
        if (Volatile.Read(ref _http2) is { } http2)
        {
            http2.OnDrain();
            return;
        }

        // Only an idle keep-alive connection is interrupted; a busy one closes after its current response.
        if (_waitingForRequest)
        {
            SetCloseReason(CloseReason.Draining);
            _clientReader.CancelPendingRead();
        }
    }

    private void OnAbort()
    {
        SetCloseReason(CloseReason.Aborted);
        Volatile.Read(ref _http2)?.OnAbort();
        SocketIo.Abort(_client);

        // Before the state is read: a state given back after this read is then never lent to another connection,
        // whose backend connection this abort would reach (see GiveBackRequestState).
        Interlocked.Exchange(ref _aborting, 1);
        Volatile.Read(ref _state)?.Upstream.Abort();
    }

    private void BorrowRequestState()
    {
        if (_state is null)
        {
            if (!_engine.Http1States.TryTake(out var state))
            {
                state = new Http1RequestState(_engine);
            }

            state.LendTo(this);
            Volatile.Write(ref _state, state);
        }
    }

    /// <summary>Between requests and at the end: the state goes back to the engine's cache unless its timer fired or an abort may hold it.</summary>
    private void GiveBackRequestState()
    {
        var state = Interlocked.Exchange(ref _state, null);
        if (state is null)
        {
            return;
        }

        // After HTTP/2 the timer served the connection's writes: it is not lent again.
        if (state.Reusable && Volatile.Read(ref _aborting) == 0 && _http2 is null)
        {
            _engine.Http1States.Give(state);
        }
        else
        {
            state.BackendTimer.Dispose();
        }
    }

    private void SetCloseReason(CloseReason reason)
        => Interlocked.CompareExchange(ref _closeReason, (int)reason, (int)CloseReason.None);

    private static bool IsExpectedNetworkError(Exception ex)
        => ex is SocketException or IOException or ObjectDisposedException or OperationCanceledException;

    private static byte[] FormatClientIp(IPEndPoint? remote) => ClientAddress.Format(remote);

    private static void ArmTimer(DeadlineTimer timer, TimeSpan timeout) => timer.Arm(timeout);

    private static void DisarmTimer(DeadlineTimer timer) => timer.Disarm();
}
