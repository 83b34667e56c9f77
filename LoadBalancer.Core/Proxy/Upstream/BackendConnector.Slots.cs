using System.Diagnostics;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Core.Proxy.Upstream;

/// <summary>
/// Backend slots under <c>max_connections_per_backend</c>, for requests and tunnels alike. When the pool is saturated,
/// freed slots go to the waiting tenant with the fewest requests in flight, and a tenant over its fair share is refused
/// at once instead of queueing in front of the others. Only the overload path walks the pool's tenants.
/// </summary>
internal sealed partial class BackendConnector
{
    /// <summary>
    /// Takes an in-flight slot on <paramref name="backend"/>. Under <c>max_connections_per_backend</c>, when the
    /// backend is full, the request waits (up to <c>timeouts.queue</c>) for a slot on any backend of the pool; a slot
    /// without a backend then.
    /// </summary>
    private ValueTask<InFlightSlot> EnterBackendAsync(PoolSnapshot pool, BackendState backend, UpstreamRequest request)
    {
        var max = pool.MaxConnectionsPerBackend;
        if (max == 0)
        {
            return new ValueTask<InFlightSlot>(new InFlightSlot(backend, backend.EnterInFlight()));
        }

        // Once requests queue for slots, a tenant over its fair share that is not next in line is refused at once rather
        // than joining the queue: a flooding tenant then cannot build a queue in front of the others.
        if (pool.Slots.Waiters > 0 && OverFairShare(pool, max, request.Tenant) && !IsNextInLine(pool, request.Tenant))
        {
            return default;
        }

        // While others wait, a newcomer takes a free slot only if its tenant is the one a freed slot would go to anyway.
        if ((pool.Slots.Waiters == 0 || IsNextInLine(pool, request.Tenant)) && backend.TryEnterInFlight(max, out var token))
        {
            return new ValueTask<InFlightSlot>(new InFlightSlot(backend, token));
        }

        return OverFairShare(pool, max, request.Tenant) && !IsNextInLine(pool, request.Tenant) ? default : WaitForBackendSlotAsync(pool, max, request);
    }

    /// <summary>A backend and the token of the in-flight count taken on it; no backend when none was free.</summary>
    private readonly record struct InFlightSlot(BackendState? Backend, int Token);

    /// <summary>
    /// A saturated pool's slots are shared evenly among the tenants with requests in flight on it, plus a slack of
    /// <see cref="FairShareSlack"/> requests (queued ones count too), so that a tenant near its share is not refused
    /// for a short burst. Only the overload path calls this: it walks the pool's tenants, O(tenants of the pool).
    /// </summary>
    private static bool OverFairShare(PoolSnapshot pool, int max, TenantState? state)
    {
        if (state is null)
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
    private static bool IsNextInLine(PoolSnapshot pool, TenantState? state)
    {
        if (state is null)
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

    private async ValueTask<InFlightSlot> WaitForBackendSlotAsync(PoolSnapshot pool, int max, UpstreamRequest request)
    {
        var slots = pool.Slots;
        var deadline = Stopwatch.GetTimestamp() + (long)((request.Timeouts ?? pool.Timeouts).Queue.TotalSeconds * Stopwatch.Frequency);
        var state = request.Tenant;
        state?.EnterSlotWait();
        slots.Register();
        try
        {
            while (true)
            {
                // Registered before looking, so a release after this scan signals us (see BackendSlots).
                if (!IsNextInLine(pool, state))
                {
                    var left = deadline - Stopwatch.GetTimestamp();
                    if (left <= 0)
                    {
                        return default;
                    }

                    await slots.WaitAsync(TimeSpan.FromSeconds(left / (double)Stopwatch.Frequency), _engine.AbortToken).ConfigureAwait(false);
                    continue;
                }

                var picked = Pick(pool, request.HashKey.Span, 0, null);
                if (picked is not null && picked.TryEnterInFlight(max, out var token))
                {
                    picked.CountQueued();
                    return new InFlightSlot(picked, token);
                }

                foreach (var candidate in pool.Backends)
                {
                    if (candidate.IsAvailable && candidate.TryEnterInFlight(max, out token))
                    {
                        candidate.CountQueued();
                        return new InFlightSlot(candidate, token);
                    }
                }

                var remaining = deadline - Stopwatch.GetTimestamp();
                if (remaining <= 0)
                {
                    return default;
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
}
