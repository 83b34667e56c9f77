using System.Net;
using System.Runtime.CompilerServices;
using LoadBalancer.Core.Async;
using LoadBalancer.Core.Balancing;
using LoadBalancer.Core.Metrics;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;
using LoadBalancer.Core.Transport;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Core.Proxy.Upstream;

/// <summary>
/// The one way to a backend connection, for HTTP requests and L4 tunnels alike: the balancer's pick with the pool's
/// health rules (retry budget, all_down), an in-flight slot under <c>max_connections_per_backend</c> with the fair share
/// of a saturated pool (BackendConnector.Slots.cs), a pooled keep-alive connection or a new connect (with the PROXY
/// header when the pool sends one), and on a failed connect the next attempt on another backend with passive health.
/// It knows no protocol: what was asked and what failed are in <see cref="UpstreamRequest"/> and <see cref="Failure"/>.
/// One per connection, so an acquire allocates nothing; its deadline is the connection's backend timer.
/// </summary>
internal sealed partial class BackendConnector
{
    private readonly ProxyEngine _engine;
    private readonly DeadlineTimer _timer;
    private readonly ILogger _logger;

    public BackendConnector(ProxyEngine engine, DeadlineTimer timer)
    {
        _engine = engine;
        _timer = timer;
        _logger = engine.Logger;
    }

    /// <summary>Why the last acquire returned null.</summary>
    public UpstreamFailure Failure { get; private set; }

    /// <summary>The attempt number (0 = first try) of the last acquire's connection or last try.</summary>
    public int Attempt { get; private set; }

    /// <summary>
    /// A connection to a backend of the pool, holding an in-flight slot on it (released by the caller with
    /// <see cref="BackendConnection.ExitInFlight"/>), or null with <see cref="Failure"/> set. With
    /// <see cref="UpstreamRequest.Opener"/>, the opener holds what it opened and the slot: success is null with
    /// <see cref="Failure"/> <see cref="UpstreamFailure.None"/>.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    public async ValueTask<BackendConnection?> AcquireAsync(UpstreamRequest request)
    {
        var pool = request.Pool;
        var avoid = request.Avoid;
        var idleMs = (long)pool.Timeouts.Idle.TotalMilliseconds;
        var attempts = pool.MaxTries; // health: 1 + retries.attempts, at most one per backend
        Failure = UpstreamFailure.None;
        for (var attempt = request.FirstAttempt; attempt < attempts; attempt++)
        {
            Attempt = attempt;
            var backend = pool.CompletePick(Pick(pool, request.HashKey.Span, attempt, avoid), attempt, avoid, _logger); // health: budget, all_down
            if (backend is null)
            {
                break;
            }

            var slot = await EnterBackendAsync(pool, backend, request).ConfigureAwait(false);
            backend = slot.Backend;
            if (backend is null)
            {
                request.Tenant?.CountRefused(RefusalReason.BackendBusy);
                Failure = UpstreamFailure.Busy;
                return null;
            }

            // A backend by name is checked against its name whatever the Host: its connections carry no request's name.
            var tlsHost = backend.Config.HostName is null ? request.TlsHost : default;
            if (request.Opener is { } opener)
            {
                // A multiplexed protocol opens a stream on a shared connection instead: it keeps the slot on success.
                if (await opener.OpenAsync(this, backend, slot.Token, tlsHost).ConfigureAwait(false))
                {
                    return null;
                }

                OnConnectFailed(pool, backend, slot.Token);
                avoid = backend;
                continue;
            }

            var connection = (request.MayReuse ? backend.IdleConnections.Rent(idleMs, request.ProbePooled, tlsHost.Span) : null)
                ?? await ConnectAsync(backend, pool, request.Client, (request.Timeouts ?? pool.Timeouts).Connect, tlsHost).ConfigureAwait(false);
            if (connection is not null)
            {
                connection.InFlightToken = slot.Token;
                return connection;
            }

            OnConnectFailed(pool, backend, slot.Token);
            avoid = backend;
        }

        Failure = avoid is null ? UpstreamFailure.NoBackend : UpstreamFailure.Unreachable;
        return null;
    }

    /// <summary>
    /// A new connection to <paramref name="backend"/> (its slot already held), bounded by <c>timeouts.connect</c>; null
    /// when it failed. <paramref name="tlsHost"/>: the request's Host, the TLS name when the pool and backend give none.
    /// </summary>
    public async ValueTask<BackendConnection?> ConnectAsync(BackendState backend, PoolSnapshot pool, IPEndPoint? client, TimeSpan connectTimeout, ReadOnlyMemory<byte> tlsHost = default)
    {
        _timer.Arm(connectTimeout);
        var connection = await _engine.Sockets.ConnectAsync(backend, default, _timer, tls: pool.Tls is not null).ConfigureAwait(false);
        if (connection is not null && pool.SendProxyProtocol != ProxyProtocolVersion.None
            && !await connection.SendProxyProtocolHeaderAsync(pool.SendProxyProtocol, client, default, _timer).ConfigureAwait(false))
        {
            connection.Dispose();
            connection = null;
        }

        // The PROXY header goes first, in plain text; then TLS. A failed handshake (verification included) is a failed
        // connect: the caller counts it and tries the next backend. Never a fallback to plaintext or to no verification.
        if (connection?.Tls is { } tls)
        {
            var options = pool.Tls!.For(backend, tlsHost.Span, out var hostName);
            if (await tls.AuthenticateAsClientAsync(options, _timer).ConfigureAwait(false) is { } reason)
            {
                backend.CountTlsFailure();
                Log.BackendTlsFailed(_logger, backend.Config.Address, pool.Name, reason);
                connection.Dispose();
                connection = null;
            }
            else
            {
                connection.TlsHost = hostName;
            }
        }

        _timer.Disarm();
        return connection;
    }

    /// <summary>A connect to <paramref name="backend"/> failed: its slot (<paramref name="inFlightToken"/>) is released, the failure counted and logged, passive health told.</summary>
    public void OnConnectFailed(PoolSnapshot pool, BackendState backend, int inFlightToken)
    {
        backend.ExitInFlight(inFlightToken);
        Log.BackendConnectFailed(_logger, backend.Config.Address, pool.Name);
        backend.CountConnectFailure();
        pool.RecordFailure(backend, _logger); // health: passive check
    }

    private static BackendState? Pick(PoolSnapshot pool, ReadOnlySpan<byte> hashKey, int attempt, BackendState? avoid)
        => pool.Balancer.Pick(new PickContext { HashKey = hashKey, Attempt = attempt, Avoid = avoid });
}
