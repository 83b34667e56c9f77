using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using LoadBalancer.Core.Balancing;
using LoadBalancer.Core.Metrics;
using LoadBalancer.Core.Proxy.Upstream;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;
using LoadBalancer.Core.Transport;
using Microsoft.Extensions.Logging;
using LoadBalancer.Core.Http1;

namespace LoadBalancer.Core.Proxy;

/// <summary>
/// One connection on a tcp (L4) listener: find the tenant (the listener's default, or by the SNI peeked from the TLS
/// ClientHello), admit it under the tenant's <c>max_connections</c>, terminate TLS when the listener has <c>tls</c>
/// (the same handshake as http listeners; otherwise the ClientHello is forwarded unchanged), pick and connect a
/// backend (other backends on failure), then splice bytes both ways until both sides close, counting them on the
/// tenant as they go.
/// </summary>
internal sealed class TcpSession : IChannelOwner
{
    private const int MaxPeekBytes = 16 * 1024 + 5;

    private readonly SocketChannel _client;

    // What the tunnel reads and writes: the channel, or TLS over it on a listener that terminates (raw until its handshake).
    private readonly IConnection _transport;
    private readonly ListenerRuntime _listener;
    private readonly ProxyEngine _engine;
    private readonly ILogger _logger;
    private IPEndPoint? _clientEndPoint;
    private byte[] _clientIp;
    private readonly DeadlineTimer _timer;
    private readonly BackendConnector _connector;
    private BackendConnection? _backend;

    // For the access-log line: the first reason recorded wins.
    private int _closeReason;

    public TcpSession(SocketChannel client, ListenerRuntime listener)
    {
        _client = client;
        _transport = listener.Snapshot.Tls is null ? client : new Tls.TlsConnection(client);
        _listener = listener;
        _engine = listener.Engine;
        _logger = _engine.Logger;
        _clientEndPoint = client.RemoteEndPoint;
        _clientIp = ClientAddress.Format(_clientEndPoint);
        _timer = _engine.Sockets.CreateSessionTimer();
        _connector = new BackendConnector(_engine, _timer);
    }

    object IChannelOwner.Engine => _engine;

    /// <summary>A tunnel has no request boundary to stop at: it runs until the drain timeout aborts it.</summary>
    void IChannelOwner.OnDrain()
    {
    }

    void IChannelOwner.OnAbort()
    {
        SetCloseReason(CloseReason.Aborted);
        Abort();
    }

    private void SetCloseReason(CloseReason reason) => Interlocked.CompareExchange(ref _closeReason, (int)reason, 0);

    void IChannelOwner.CollectDue(long now, List<DeadlineTimer> due)
    {
        if (_timer.TakeIfDue(now))
        {
            due.Add(_timer);
        }
    }

    /// <summary>Never throws, like <see cref="Http1Connection.RunAsync"/>.</summary>
    public async Task RunAsync()
    {
        var reader = new SocketReader(_transport);
        _engine.Sockets.Attach(_client, this);
        TenantState? attached = null;
        TenantSnapshot? tenantForLog = null;
        TunnelBytes? bytes = null;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var startedUtc = DateTime.UtcNow.Ticks;
        long tunnelStarted = 0;
        try
        {
            var listener = _listener.Snapshot;
            if (listener.AcceptProxyProtocol && !await ReadProxyProtocolHeaderAsync(reader, listener).ConfigureAwait(false))
            {
                return;
            }

            var tenant = listener.DefaultTenant;
            if (listener.TenantKey == TenantKeyKind.Sni)
            {
                _timer.Arm(listener.Timeouts.RequestHead);
                tenant = await PeekSniTenantAsync(reader, listener, _timer).ConfigureAwait(false);
                _timer.Disarm();
            }

            if (tenant is null)
            {
                return;
            }

            tenantForLog = tenant;

            // Before the handshake: a tenant at its limit costs no TLS work.
            if (!tenant.State.TryAttachConnection(tenant.MaxConnections))
            {
                tenant.State.CountTcpRefused();
                SetCloseReason(CloseReason.TenantOverLimit);
                Log.TcpConnectionRefused(_logger, tenant.Name, listener.Name);
                return;
            }

            attached = tenant.State;
            if (listener.Tls is { } tls && !await HandshakeAsync((Tls.TlsConnection)_transport, tls, reader).ConfigureAwait(false))
            {
                SetCloseReason(CloseReason.TlsHandshakeFailed);
                return;
            }

            var connection = await ConnectAsync(tenant).ConfigureAwait(false);
            if (connection is null)
            {
                SetCloseReason(CloseReason.NoBackend);
                return;
            }

            tenant.State.CountTcpConnection();
            bytes = new TunnelBytes(tenant.State);
            tunnelStarted = System.Diagnostics.Stopwatch.GetTimestamp();
            await DuplexPump.RunAsync(reader, _transport, connection.Reader, connection.Transport, bytes).ConfigureAwait(false);
            SetCloseReason(CloseReason.TunnelClosed);
        }
        catch (Exception ex) when (ex is SocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            // Peer gone, timeout or abort: the connection just ends.
            SetCloseReason(ex is OperationCanceledException ? CloseReason.RequestHeadTimeout : CloseReason.ClientClosed);
        }
        catch (Exception ex)
        {
            SetCloseReason(CloseReason.Error);
            Log.ConnectionFailed(_logger, 0, ex);
        }
        finally
        {
            try
            {
                if (tunnelStarted != 0)
                {
                    tenantForLog!.State.CountTcpDuration(System.Diagnostics.Stopwatch.GetTimestamp() - tunnelStarted);
                }

                if (tenantForLog is not null && _listener.Snapshot.AccessLog is { } log)
                {
                    log.TryWrite(new AccessLogEntry
                    {
                        TimeUtcTicks = startedUtc,
                        Tenant = tenantForLog.Name,
                        ClientIp = _clientIp,
                        BytesReceived = bytes?.Received ?? 0,
                        BytesSent = bytes?.Sent ?? 0,
                        Backend = _backend?.Backend.Config.Address,
                        DurationTicks = System.Diagnostics.Stopwatch.GetTimestamp() - started,
                        CloseReason = (CloseReason)_closeReason,
                        Tcp = true,
                    });
                }

                if (_backend is { } backend)
                {
                    backend.ExitInFlight();
                    backend.Dispose();
                }

                attached?.DetachConnection();
                await reader.CompleteAsync().ConfigureAwait(false);
                SocketIo.CloseGracefully(_transport);
                _timer.Dispose();
            }
            finally
            {
                _engine.Sockets.Detach(this);

                // Counted whatever teardown did: the drain waits on this count.
                _engine.OnSessionEnded();
            }
        }
    }

    private void Abort()
    {
        SocketIo.Abort(_client);
        SocketIo.Abort(_backend?.Channel);
    }

    /// <summary>
    /// The handshake of a tcp listener that terminates TLS, after the SNI peek (which consumed nothing: the buffered
    /// ClientHello goes to the handshake), under handshake_timeout, counted in lb_tls_handshakes_total. A failure
    /// (plain text included: there is no protocol to answer in) just closes.
    /// </summary>
    private async ValueTask<bool> HandshakeAsync(Tls.TlsConnection tls, Tls.ListenerTls settings, SocketReader reader)
    {
        _timer.Arm(settings.HandshakeTimeout);
        var result = await tls.HandshakeAsync(settings, _timer, reader.TakeBuffered()).ConfigureAwait(false);
        _timer.Disarm();
        settings.Counters.Add(result);
        if (result is Tls.TlsHandshakeResult.Ok or Tls.TlsHandshakeResult.Resumed)
        {
            return true;
        }

        Log.TlsHandshakeFailed(_logger, 0, Tls.TlsHandshakeCounters.Name(result), tls.SawPlainText);
        return false;
    }

    /// <summary>
    /// The accept-time PROXY step, as on HTTP listeners: the header's source becomes the client address that is hashed
    /// and sent on to backends; a missing or bad header (or none within timeouts.request_head) closes the connection.
    /// </summary>
    private async ValueTask<bool> ReadProxyProtocolHeaderAsync(SocketReader reader, ListenerSnapshot listener)
    {
        _timer.Arm(listener.Timeouts.RequestHead);
        var (status, source) = await ProxyProtocolHeaderReader.ReadAsync(reader, _timer).ConfigureAwait(false);
        _timer.Disarm();
        if (status != ProxyProtocolStatus.Complete)
        {
            return false;
        }

        if (source is not null)
        {
            _clientEndPoint = source;
            _clientIp = ClientAddress.Format(source);
        }

        return true;
    }

    private static async ValueTask<TenantSnapshot?> PeekSniTenantAsync(SocketReader reader, ListenerSnapshot listener, DeadlineTimer timer)
    {
        while (true)
        {
            var result = await reader.ReadAsync(timer).ConfigureAwait(false);
            var buffer = result.Buffer;
            var tenant = FindTenant(buffer, listener, out var complete);
            if (complete || result.IsCompleted || buffer.Length >= MaxPeekBytes)
            {
                // Consume nothing: the ClientHello is forwarded as it came, and the next read returns it at once.
                reader.AdvanceTo(buffer.Start);
                return complete ? tenant : listener.DefaultTenant;
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static TenantSnapshot? FindTenant(in ReadOnlySequence<byte> buffer, ListenerSnapshot listener, out bool complete)
    {
        var length = (int)Math.Min(buffer.Length, MaxPeekBytes);
        var rented = buffer.IsSingleSegment ? null : ArrayPool<byte>.Shared.Rent(length);
        try
        {
            ReadOnlySpan<byte> data = rented is null ? buffer.FirstSpan : rented.AsSpan(0, length);
            if (rented is not null)
            {
                buffer.Slice(0, length).CopyTo(rented);
            }

            var status = TlsClientHello.TryReadServerName(data, out var start, out var nameLength);
            complete = status != TlsClientHello.Status.Incomplete;
            return status == TlsClientHello.Status.Found
                ? listener.Tenants.Find(data.Slice(start, nameLength)) ?? listener.DefaultTenant
                : listener.DefaultTenant;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// Pick, slot and connect through the same connector as HTTP requests: the client address hashed as L7 hashes it
    /// (one client, one backend, through either), <c>max_connections_per_backend</c> counted per tunnel with the same
    /// queue and fair share, retries on other backends, and passive health.
    /// </summary>
    private async ValueTask<BackendConnection?> ConnectAsync(TenantSnapshot tenant)
    {
        var connection = await _connector.AcquireAsync(new UpstreamRequest
        {
            Pool = tenant.Pool!, // the validator requires a pool of every tenant a tcp listener serves
            Tenant = tenant.State,
            HashKey = _clientIp,
            Client = _clientEndPoint,
        }).ConfigureAwait(false);
        if (connection is not null)
        {
            connection.Backend.RecordSuccess(); // health: L4 has no status code, a connect is its success
            _backend = connection;
        }

        return connection;
    }
}
