using System.Buffers;
using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Metrics;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;
using LoadBalancer.Core.Transport;

namespace LoadBalancer.Core.Proxy;

/// <summary>
/// Tenancy on the data path, as the connection sees it: it hands each request to its <see cref="ProxyExchange"/>
/// (admission and accounting, protocol-free) and applies the decision, and it takes the backend slot under
/// <c>max_connections_per_backend</c> with the fair share. Called from a few marked lines in the other parts.
/// </summary>
internal sealed partial class HttpSession
{
    // The tenant this connection counts for (max_connections): the tenant of its latest request.
    private TenantState? _connectionTenant;

    // One per connection, reset by each request's admission.
    private readonly ProxyExchange _exchange = new();

    /// <summary>
    /// Runs when a request has been matched to <paramref name="tenant"/>, before anything is sent to a backend.
    /// Returns 0 to proceed, or the status lb answers itself (the refusal is counted and its close reason set).
    /// </summary>
    private int AdmitRequest(TenantSnapshot tenant, ListenerSnapshot listener, ReadOnlySpan<byte> source, ReadOnlySpan<HeaderLine> headers)
    {
        var admission = _exchange.Admit(tenant, listener, _head, source, headers, ref _connectionTenant);
        if (admission.Refusal is { } refusal)
        {
            SetCloseReason(admission.CloseReason);
            _replyCause = refusal;
        }

        return admission.Status;
    }

    /// <summary>
    /// Takes an in-flight slot on <paramref name="backend"/>. Under <c>max_connections_per_backend</c>, when the
    /// backend is full, the request waits (up to <c>timeouts.queue</c>) for a slot on any backend of the pool; null then.
    /// </summary>
    private ValueTask<BackendState?> EnterBackendAsync(PoolSnapshot pool, BackendState backend)
    {
        var max = pool.MaxConnectionsPerBackend;
        if (max == 0)
        {
            backend.EnterInFlight();
            _exchange.Backend = backend;
            return new ValueTask<BackendState?>(backend);
        }

        // Once requests queue for slots, a tenant over its fair share that is not next in line is refused at once rather
        // than joining the queue: a flooding tenant then cannot build a queue in front of the others.
        if (pool.Slots.Waiters > 0 && OverFairShare(pool, max) && !IsNextInLine(pool))
        {
            return new ValueTask<BackendState?>((BackendState?)null);
        }

        // While others wait, a newcomer takes a free slot only if its tenant is the one a freed slot would go to anyway.
        if ((pool.Slots.Waiters == 0 || IsNextInLine(pool)) && backend.TryEnterInFlight(max))
        {
            _exchange.Backend = backend;
            return new ValueTask<BackendState?>(backend);
        }

        return OverFairShare(pool, max) && !IsNextInLine(pool) ? new ValueTask<BackendState?>((BackendState?)null) : WaitForBackendSlotAsync(pool, max);
    }

    /// <summary>
    /// A saturated pool's slots are shared evenly among the tenants with requests in flight on it, plus a slack of
    /// <see cref="FairShareSlack"/> requests (queued ones count too), so that a tenant near its share is not refused
    /// for a short burst. Only the overload path calls this: it walks the pool's tenants, O(tenants of the pool).
    /// </summary>
    private bool OverFairShare(PoolSnapshot pool, int max)
    {
        if (_exchange.Tenant?.State is not { } state)
        {
            return false;
        }

        var active = 0;
        foreach (var tenant in pool.TenantStates)
        {
            if (tenant.InFlight > 0)
            {
                active++;
            }
        }

        active = Math.Max(active, 1);
        var capacity = pool.Backends.Length * max;
        var share = ((capacity + active - 1) / active) + FairShareSlack;
        return state.InFlight > share;
    }

    private const int FairShareSlack = 1;

    /// <summary>
    /// Weighted-fair hand-out of freed slots: they go to the waiting tenant with the fewest requests in flight, so a
    /// tenant within its share is never stuck behind a flooding one. Overload path only; O(tenants of the pool).
    /// </summary>
    private bool IsNextInLine(PoolSnapshot pool)
    {
        if (_exchange.Tenant?.State is not { } state)
        {
            return true;
        }

        var mine = state.InFlight;
        foreach (var tenant in pool.TenantStates)
        {
            if (tenant != state && tenant.WaitingForSlot > 0 && tenant.InFlight < mine)
            {
                return false;
            }
        }

        return true;
    }

    private async ValueTask<BackendState?> WaitForBackendSlotAsync(PoolSnapshot pool, int max)
    {
        var slots = pool.Slots;
        var deadline = Stopwatch.GetTimestamp() + (long)(pool.Timeouts.Queue.TotalSeconds * Stopwatch.Frequency);
        var state = _exchange.Tenant?.State;
        state?.EnterSlotWait();
        slots.Register();
        try
        {
            while (true)
            {
                // Registered before looking, so a release after this scan signals us (see BackendSlots).
                if (!IsNextInLine(pool))
                {
                    var left = deadline - Stopwatch.GetTimestamp();
                    if (left <= 0)
                    {
                        return null;
                    }

                    await slots.WaitAsync(TimeSpan.FromSeconds(left / (double)Stopwatch.Frequency), _engine.AbortToken).ConfigureAwait(false);
                    continue;
                }

                var picked = PickBackend(pool, 0, null);
                if (picked is not null && picked.TryEnterInFlight(max))
                {
                    picked.CountQueued();
                    _exchange.Backend = picked;
                    return picked;
                }

                foreach (var candidate in pool.Backends)
                {
                    if (candidate.IsAvailable && candidate.TryEnterInFlight(max))
                    {
                        candidate.CountQueued();
                        _exchange.Backend = candidate;
                        return candidate;
                    }
                }

                var remaining = deadline - Stopwatch.GetTimestamp();
                if (remaining <= 0)
                {
                    return null;
                }

                await slots.WaitAsync(TimeSpan.FromSeconds(remaining / (double)Stopwatch.Frequency), _engine.AbortToken).ConfigureAwait(false);
            }
        }
        finally
        {
            slots.Unregister();
            state?.ExitSlotWait();
        }
    }

    private async ValueTask RefuseBackendBusyAsync()
    {
        if (_exchange.Tenant is { } tenant)
        {
            tenant.State.CountRefused(RefusalReason.BackendBusy);
        }

        SetCloseReason(CloseReason.BackendBusy);
        _replyCause = LocalReplies.PoolBusy;
        await SendCannedAsync(503, _listener.Snapshot).ConfigureAwait(false);
    }

    private void OnConnectFailed(BackendState backend)
    {
        backend.CountConnectFailure();
        _exchange.Backend = null;
    }

    /// <summary>The status line the client is about to get, and the bytes of head (and body, when sent with it).</summary>
    private void OnResponseSent(int status, long bytes) => _exchange.OnResponseSent(status, bytes);

    /// <summary>
    /// Counts body bytes as they are forwarded. A request body over <c>max_body_bytes</c> (chunked; Content-Length was
    /// refused up front) aborts the backend connection, so the pending response read fails and the client gets 413.
    /// </summary>
    private void CountBodyBytes(IConnection destination, long bytes)
    {
        if (ReferenceEquals(destination, _client))
        {
            _exchange.CountResponseBytes(bytes);
            return;
        }

        if (!_exchange.CountRequestBytes(bytes))
        {
            SetCloseReason(CloseReason.BodyTooLarge);
            SocketIo.Abort(destination);
            throw new InvalidDataException("The request body exceeds max_body_bytes.");
        }
    }

    /// <summary>Ends the request's accounting (see <see cref="ProxyExchange.End"/>).</summary>
    private void EndRequest() => _exchange.End(_clientIp, CloseReason);

    /// <summary>At the end of the connection: it no longer counts for any tenant.</summary>
    private void DetachTenant()
    {
        EndRequest();
        _connectionTenant?.DetachConnection();
        _connectionTenant = null;
        _exchange.ReleaseBuffers();
    }
}
