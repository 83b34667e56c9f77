using System.Runtime.CompilerServices;
using LoadBalancer.Core.Async;
using LoadBalancer.Core.Metrics;
using LoadBalancer.Core.Proxy;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Transport;

namespace LoadBalancer.Core.Http1;

// Retries and passive health on the request path. The rules:
//  - A failed connect never delivered anything: any request may go to another backend (Avoid = the failed one,
//    Attempt + 1), up to 1 + retries.attempts tries (at most one per backend of the pool).
//  - A reset or EOF before any response byte may go to another backend only for an idempotent method (GET, HEAD,
//    OPTIONS, PUT, DELETE) without a body: a body streams from the client and cannot be replayed. A stale pooled
//    keep-alive connection is first replayed once on a fresh connection to the same backend, as before.
//  - Nothing is retried once a response byte went to the client, nor after a response-head timeout (the backend
//    may be working on it): those answer 504/502 as before.
//  - Every retry takes one unit of the pool's RetryBudget; a spent budget answers 502 at once.
//  - Connect failures, resets, timeouts and 5xx count towards outlier ejection; any answer below 500 resets it.
// All of it is fields and Interlocked counters: nothing here allocates or locks.
internal sealed partial class Http1Upstream
{
    /// <summary>The stale-pooled-connection replay of this request has been used.</summary>
    private bool _staleReplayed;

    /// <summary>The request may be re-sent to another backend after a reset (idempotent, no body).</summary>
    private bool _retryable;

    /// <summary>A new request's first try: it may be re-sent elsewhere after a reset only when idempotent and body-less.</summary>
    private void StartTries()
    {
        _staleReplayed = false;
        _retryable = _downstream.Retryable;
    }

    /// <summary>Passive health: a reset, response timeout, invalid head or 5xx from the backend.</summary>
    private void OnBackendFailed(PoolSnapshot pool, BackendState backend) => pool.RecordFailure(backend, _logger);

    /// <summary>Passive health: a final response head arrived from the backend.</summary>
    private void OnResponseHead(PoolSnapshot pool, BackendState backend, int status)
    {
        if (status >= 500)
        {
            OnBackendFailed(pool, backend);
        }
        else
        {
            backend.RecordSuccess();
        }
    }

    /// <summary>
    /// The backend closed or reset <paramref name="failed"/> before any response byte. Replays a stale pooled
    /// connection once on the same backend, else retries an idempotent body-less request on another backend, else
    /// answers 502. Returns the connection to send the request on again, or null when an answer was sent.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<BackendConnection?> RetryAfterCloseAsync(PoolSnapshot pool, BackendConnection failed)
    {
        var backend = failed.Backend;
        if (failed.Reused && !_staleReplayed)
        {
            // A keep-alive connection the backend closed while it sat idle: the request was never seen. Not a failure.
            _staleReplayed = true;
            _connection = null;
            failed.Discard(DiscardReason.BackendClosed);
            var fresh = await _connector.ConnectAsync(backend, pool, pool.SendProxyProtocol == ProxyProtocolVersion.None ? null : _downstream.ClientEndPoint, _timeouts.Connect, _exchange.TlsHost).ConfigureAwait(false);
            if (fresh is not null)
            {
                // The replay keeps the failed connection's slot on the backend.
                fresh.InFlightToken = failed.InFlightToken;
                _connection = fresh;
                return fresh;
            }

            _exchange.Backend = null;
            _connector.OnConnectFailed(pool, backend, failed.InFlightToken);

            // Nothing was delivered: like any failed connect, any method may go to another backend.
            return await AcquireBackendAsync(pool, _attempt + 1, backend).ConfigureAwait(false);
        }

        if (!_retryable || _attempt + 1 >= pool.MaxTries)
        {
            await FailResponseAsync(HeadOutcome.Closed, failed, pool, bodyTask: null).ConfigureAwait(false);
            return null;
        }

        _connection = null;
        failed.ExitInFlight();
        failed.Discard(DiscardReason.BackendClosed);
        OnBackendFailed(pool, backend);
        return await AcquireBackendAsync(pool, _attempt + 1, backend).ConfigureAwait(false);
    }

    /// <summary>
    /// The backend failed this request before a response could go out (no head, a timeout, an invalid head, or the
    /// request body broke): lb answers with the cause, passive health hears of it unless the client caused it, and
    /// the backend connection is closed whatever happened, since its framing is in doubt.
    /// </summary>
    private async ValueTask FailResponseAsync(HeadOutcome outcome, BackendConnection connection, PoolSnapshot pool, Task? bodyTask)
    {
        var cause = _exchange.BodyTooLarge ? LocalReplies.BodyTooLarge // tenancy: 413 for an oversized chunked body
            : _requestBodyInvalid ? LocalReplies.BadChunkedBody
            : _requestBodyTimedOut ? LocalReplies.BodyTimeout
            : outcome switch
            {
                HeadOutcome.Timeout when _clientDeadlineBinds => LocalReplies.DeadlineExceeded,
                HeadOutcome.Timeout => LocalReplies.BackendTimeout,
                HeadOutcome.Invalid => LocalReplies.BackendInvalid,
                _ => LocalReplies.BackendClosed,
            };
        var reason = _requestBodyInvalid ? CloseReason.BadRequest : _requestBodyTimedOut ? CloseReason.BodyTimeout : _requestBodyFailed ? CloseReason.ClientReset : outcome switch
        {
            HeadOutcome.Timeout => CloseReason.BackendResponseTimeout,
            HeadOutcome.Invalid => CloseReason.BackendInvalidResponse,
            _ => CloseReason.BackendClosed,
        };
        _downstream.SetCloseReason(reason);
        if (outcome == HeadOutcome.Invalid)
        {
            Log.BackendInvalidResponse(_logger, connection.Backend.Config.Address, pool.Name, _heads.Head.ErrorReason ?? "malformed head");
        }

        // A failure the client caused (its body broke, stalled or was too large, its own deadline was short) says
        // nothing about the backend.
        if (!_requestBodyFailed && !_exchange.BodyTooLarge && !(outcome == HeadOutcome.Timeout && _clientDeadlineBinds))
        {
            OnBackendFailed(pool, connection.Backend); // health: passive check
        }

        // Never reuse a backend connection whose framing is in doubt.
        _connection = null;
        connection.ExitInFlight();
        connection.Discard(_requestBodyFailed || _exchange.BodyTooLarge ? DiscardReason.RequestUnfinished
            : outcome == HeadOutcome.Timeout ? DiscardReason.ResponseTimeout
            : DiscardReason.InvalidResponse);
        if (bodyTask is not null)
        {
            _downstream.CancelRequestBody();
            try
            {
                await bodyTask.ConfigureAwait(false);
            }
            catch (Exception ex) when (IsExpectedNetworkError(ex) || ex is InvalidDataException)
            {
                // The backend side is gone; the body copy ends with it.
            }
        }

        // The client timer has fired after a body stall, so its token cannot bound this send: the downstream caps it.
        await _downstream.ReplyAsync(cause, reason, clientTimerFired: _requestBodyTimedOut).ConfigureAwait(false);
    }
}
