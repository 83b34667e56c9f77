using System.Net.Sockets;
using System.Runtime.CompilerServices;
using LoadBalancer.Core.Async;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Proxy.Upstream;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Transport;

namespace LoadBalancer.Core.Http1;

/// <summary>The backend's side of one exchange: a connection for the request, the response head, a 101 tunnel.</summary>
internal sealed partial class Http1Upstream
{
    /// <summary>Attempt number of the backend the current request is on (0 = first try), as the connector last reported.</summary>
    private int _attempt;

    /// <summary>
    /// A backend connection for the routed request through the connector (pick, health, slot, reuse or connect, retries
    /// on connect failures), or null once lb's own answer (502, 503) is sent.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<BackendConnection?> AcquireBackendAsync(PoolSnapshot pool, int firstAttempt = 0, BackendState? avoid = null) // health: retries start later
    {
        if (firstAttempt == 0)
        {
            StartTries(); // health: what may be retried (Http1Upstream.Health.cs)
        }

        var connection = await _connector.AcquireAsync(new UpstreamRequest
        {
            Pool = pool,
            Timeouts = _timeouts,
            Tenant = _exchange.Tenant?.State,
            HashKey = _exchange.HashKey,
            TlsHost = _exchange.TlsHost,
            // Asked for only where a PROXY header needs it, so an HTTP/1 connection need not keep an endpoint object.
            Client = pool.SendProxyProtocol == ProxyProtocolVersion.None ? null : _downstream.ClientEndPoint,
            MayReuse = true,

            // A request without a body can be replayed on a fresh connection if the pooled one turns out stale, so only
            // requests with a body pay for the liveness poll.
            ProbePooled = _downstream.RequestFraming != BodyFraming.None,
            FirstAttempt = firstAttempt,
            Avoid = avoid,
        }).ConfigureAwait(false);
        _attempt = _connector.Attempt;
        _exchange.Backend = connection?.Backend;
        if (connection is not null)
        {
            _connection = connection;
            return connection;
        }

        if (_connector.Failure == UpstreamFailure.Busy)
        {
            _exchange.NoteRefusal(Tenancy.RefusalReason.BackendBusy); // counted on the tenant by the connector; here for the ledger
            await _downstream.ReplyAsync(Proxy.LocalReplies.PoolBusy, Proxy.CloseReason.BackendBusy, clientTimerFired: false).ConfigureAwait(false);
            return null;
        }

        var unreachable = _connector.Failure == UpstreamFailure.Unreachable;
        await _downstream.ReplyAsync(
            unreachable ? Proxy.LocalReplies.BackendUnreachable : Proxy.LocalReplies.NoBackend,
            unreachable ? Proxy.CloseReason.BackendConnectFailed : Proxy.CloseReason.NoBackend,
            clientTimerFired: false).ConfigureAwait(false);
        return null;
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<HeadOutcome> ReadResponseHeadAsync(BackendConnection connection, TimeSpan timeout)
    {
        _timer.Arm(timeout);
        var reader = connection.Reader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(_timer).ConfigureAwait(false);
                var buffer = result.Buffer;
                if (buffer.IsEmpty && (result.IsCompleted || result.IsCanceled))
                {
                    reader.AdvanceTo(buffer.End);
                    return HeadOutcome.Closed;
                }

                var status = _heads.Parse(buffer, isRequest: false, ResponseLimits);
                if (status == HeadParseStatus.Complete)
                {
                    _heads.Pending = buffer;
                    return HeadOutcome.Complete;
                }

                if (status == HeadParseStatus.Invalid || result.IsCompleted)
                {
                    reader.AdvanceTo(buffer.End);
                    return HeadOutcome.Invalid;
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        catch (OperationCanceledException) when (_timer.IsCancellationRequested)
        {
            return HeadOutcome.Timeout;
        }
        catch (Exception ex) when (ex is SocketException or IOException or ObjectDisposedException)
        {
            return HeadOutcome.Closed;
        }
    }

    private static BodyFraming ResponseFraming(in HttpMessageHead head, bool isHeadRequest)
    {
        // RFC 9112 section 6.3: HEAD answers, 1xx, 204 and 304 never have a body, whatever their headers say.
        if (isHeadRequest || head.StatusCode is 204 or 304)
        {
            return BodyFraming.None;
        }

        if (head.Chunked)
        {
            return BodyFraming.Chunked;
        }

        return head.ContentLength switch
        {
            0 => BodyFraming.None,
            > 0 => BodyFraming.ContentLength,
            _ => BodyFraming.UntilClose,
        };
    }

    /// <summary>Waits for the request body copy; a copy the backend cut short (it answered early) is stopped first.</summary>
    private async ValueTask<bool> FinishRequestBodyAsync(Task bodyTask, BackendConnection connection)
    {
        if (!bodyTask.IsCompleted && !_requestBodyRead)
        {
            SocketIo.Abort(connection.Channel);
            _downstream.CancelRequestBody();
        }

        try
        {
            await bodyTask.ConfigureAwait(false);
            return !bodyTask.IsCanceled;
        }
        catch (Exception ex) when (IsExpectedNetworkError(ex) || ex is InvalidDataException)
        {
            return false;
        }
    }

    /// <summary>After a 101, both directions become raw byte pumps until either side closes (or the drain aborts them).</summary>
    private async ValueTask TunnelAsync(BackendConnection connection)
    {
        var head = _heads.Pending.Slice(0, _heads.Head.HeadLength);
        await _downstream.SendUpgradeHeadAsync(head, _timer).ConfigureAwait(false);
        connection.Reader.AdvanceTo(head.End);
        _heads.Pending = default;
        _heads.Memory = default;
        _timer.Disarm();
        try
        {
            await _downstream.TunnelAsync(connection).ConfigureAwait(false);
        }
        finally
        {
            // The tunnel used the connection up: closed, but not a discard (it was never going back to the pool).
            _connection = null;
            connection.ExitInFlight();
            connection.Dispose();
        }
    }
}
