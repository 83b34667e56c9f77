using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using LoadBalancer.Core.Balancing;
using LoadBalancer.Core.Metrics;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;
using LoadBalancer.Core.Transport;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Core.Proxy;

/// <summary>
/// One connection on a tcp (L4) listener: find the tenant (the listener's default, or by the SNI peeked from the TLS
/// ClientHello, which is forwarded unchanged), pick and connect a backend (other backends on failure), then splice
/// bytes both ways until both sides close. TLS is never terminated.
/// </summary>
internal sealed class TcpSession
{
    private const int MaxPeekBytes = 16 * 1024 + 5;

    private readonly SocketChannel _client;
    private readonly ListenerRuntime _listener;
    private readonly ILogger _logger;
    private readonly IPEndPoint? _clientEndPoint;
    private BackendConnection? _backend;

    public TcpSession(SocketChannel client, ListenerRuntime listener)
    {
        _client = client;
        _listener = listener;
        _logger = listener.Engine.Logger;
        _clientEndPoint = client.Socket.RemoteEndPoint as IPEndPoint;
    }

    /// <summary>Never throws, like <see cref="HttpSession.RunAsync"/>.</summary>
    public async Task RunAsync()
    {
        var reader = new SocketReader(_client);
        using var abort = _listener.Engine.AbortToken.Register(static s => ((TcpSession)s!).Abort(), this);
        using var timer = new CancellationTokenSource();
        try
        {
            var listener = _listener.Snapshot;
            var tenant = listener.DefaultTenant;
            if (listener.TenantKey == TenantKeyKind.Sni)
            {
                timer.CancelAfter(listener.Timeouts.RequestHead);
                tenant = await PeekSniTenantAsync(reader, listener, timer.Token).ConfigureAwait(false);
            }

            if (tenant is null)
            {
                return;
            }

            var pool = tenant.Pool;
            var connection = await ConnectAsync(pool, timer).ConfigureAwait(false);
            if (connection is null)
            {
                return;
            }

            await DuplexPump.RunAsync(reader, _client, connection.Reader, connection.Channel).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            // Peer gone, timeout or abort: the connection just ends.
        }
        catch (Exception ex)
        {
            Log.ConnectionFailed(_logger, 0, ex);
        }
        finally
        {
            try
            {
                if (_backend is { } backend)
                {
                    backend.Backend.DecrementActive();
                    backend.Dispose();
                }

                await reader.CompleteAsync().ConfigureAwait(false);
                SocketIo.CloseGracefully(_client);
            }
            finally
            {
                // Counted whatever teardown did: the drain waits on this count.
                _listener.Engine.OnSessionEnded();
            }
        }
    }

    private void Abort()
    {
        SocketIo.Abort(_client);
        SocketIo.Abort(_backend?.Channel);
    }

    private static async ValueTask<TenantSnapshot?> PeekSniTenantAsync(PipeReader reader, ListenerSnapshot listener, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
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

    private async ValueTask<BackendConnection?> ConnectAsync(PoolSnapshot pool, CancellationTokenSource timer)
    {
        BackendState? avoid = null;
        var key = _clientEndPoint?.Address.ToString() ?? "";
        for (var attempt = 0; attempt < pool.MaxTries; attempt++) // health: retries.attempts
        {
            var backend = pool.CompletePick(Pick(pool, key, attempt, avoid), attempt, avoid, _logger); // health: budget, all_down
            if (backend is null)
            {
                return null;
            }

            backend.IncrementActive();
            timer.CancelAfter(pool.Timeouts.Connect);
            var connection = await BackendConnection.ConnectAsync(backend, timer.Token).ConfigureAwait(false);
            if (connection is not null && pool.SendProxyProtocol != ProxyProtocolVersion.None
                && !await connection.SendProxyProtocolHeaderAsync(pool.SendProxyProtocol, _clientEndPoint, timer.Token).ConfigureAwait(false))
            {
                connection.Dispose();
                connection = null;
            }

            timer.CancelAfter(Timeout.InfiniteTimeSpan);
            if (connection is not null)
            {
                backend.RecordSuccess(); // health: L4 has no status code, a connect is its success
                _backend = connection;
                return connection;
            }

            backend.DecrementActive();
            Log.BackendConnectFailed(_logger, backend.Config.Address, pool.Name);
            pool.RecordFailure(backend, _logger); // health: passive check
            avoid = backend;
        }

        return null;
    }

    private static BackendState? Pick(PoolSnapshot pool, string clientIp, int attempt, BackendState? avoid)
    {
        Span<byte> key = stackalloc byte[64];
        var length = System.Text.Encoding.ASCII.GetBytes(clientIp.AsSpan(0, Math.Min(clientIp.Length, 64)), key);
        return pool.Balancer.Pick(new PickContext { HashKey = key[..length], Attempt = attempt, Avoid = avoid });
    }
}
