using System.Diagnostics;
using System.Globalization;
using LoadBalancer.Core.Config;
using LoadBalancer.Core.Routing;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Core.Cluster;

/// <summary>
/// The one background task that talks to Redis for <c>[cluster]</c>: every <c>sync_interval</c> it runs one round
/// (<see cref="RoundAsync"/>) over the live snapshot's cluster-limited tenants, which tops up each tenant's leased
/// tokens, records this instance as alive and reads the instance count. Requests never wait for it: they only spend
/// what it leased (<see cref="ClusterRateLimiter"/>). When a round fails, every limiter falls back to its local share
/// of the limit at once, and the next round that Redis answers ends the fallback.
/// </summary>
public sealed class ClusterSync
{
    private static readonly TimeSpan Reminder = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan LeaveTimeout = TimeSpan.FromMilliseconds(500);

    private readonly SnapshotHolder _holder;
    private readonly ILogger _logger;
    private readonly Func<string, ILeaseStore> _open;
    private readonly TimeProvider _clock;
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly List<ClusterRateLimiter> _asked = [];
    private readonly List<LeaseRequest> _requests = [];
    private ILeaseStore? _store;
    private string? _instanceId;
    private bool _joined;
    private bool _down;
    private long _downSince;
    private long _reminded;

    public ClusterSync(SnapshotHolder holder, ILogger logger)
        : this(holder, logger, static address => new RedisLeaseStore(address), TimeProvider.System)
    {
    }

    internal ClusterSync(SnapshotHolder holder, ILogger logger, Func<string, ILeaseStore> open, TimeProvider clock)
    {
        _holder = holder;
        _logger = logger;
        _open = open;
        _clock = clock;

        // A reload may add [cluster] or change the interval: run a round at once rather than at the old pace.
        holder.Published += _ => Wake();
    }

    /// <summary>Runs rounds until <paramref name="cancellationToken"/> fires; then this instance leaves the count.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                var snapshot = _holder.Current;
                var wait = Timeout.InfiniteTimeSpan;
                if (snapshot.Cluster is { Redis: { } address } cluster)
                {
                    var began = Stopwatch.GetTimestamp();
                    try
                    {
                        await SyncOnceAsync(snapshot, address, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                    {
                        ClusterLog.RoundFailed(_logger, e);
                    }

                    // Jittered (0.5 to 1.5 intervals): Redis grants in arrival order, so an instance whose round
                    // always came right after another's would always find less; a drifting phase shares that evenly.
                    wait = (cluster.SyncInterval * (0.5 + Random.Shared.NextDouble())) - Stopwatch.GetElapsedTime(began);
                    if (wait < TimeSpan.Zero)
                    {
                        wait = TimeSpan.Zero;
                    }
                }
                else
                {
                    await CloseAsync().ConfigureAwait(false);
                }

                await _wake.WaitAsync(wait, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            await CloseAsync().ConfigureAwait(false);
        }
    }

    /// <summary>One round on <paramref name="snapshot"/>, with the store for <paramref name="address"/> opened first if needed.</summary>
    internal async Task<bool> SyncOnceAsync(RuntimeSnapshot snapshot, string address, CancellationToken cancellationToken)
    {
        await OpenAsync(address, snapshot.Cluster!.InstanceId).ConfigureAwait(false);
        return await RoundAsync(snapshot, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// One round: asks for tokens where a tenant holds fewer than it needs (or is in fallback), in one call. True when
    /// the store answered; on failure every limiter of <paramref name="snapshot"/> is in fallback when this returns.
    /// </summary>
    private async Task<bool> RoundAsync(RuntimeSnapshot snapshot, CancellationToken cancellationToken)
    {
        var cluster = snapshot.Cluster!;
        var state = cluster.State;
        var store = _store ?? throw new InvalidOperationException("no store open");
        var instances = state.Instances;
        var now = _clock.GetElapsedTime(0).Ticks;
        _asked.Clear();
        _requests.Clear();
        foreach (var tenant in snapshot.Tenants.Values)
        {
            if (tenant.ClusterLimiter is { } limiter)
            {
                var want = limiter.Want(instances, now);
                if (want > 0 || limiter.InFallback)
                {
                    _asked.Add(limiter);
                    _requests.Add(new LeaseRequest(limiter.Key, limiter.RequestsPerSecond, limiter.Capacity, want));
                }
            }
        }

        LeaseResult result;
        try
        {
            result = await store.LeaseAsync(cluster.InstanceId, cluster.InstanceTtl, _requests, cluster.RoundTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            // Whatever went wrong (no connection, a timeout, a reply that does not parse), limits must not depend on it.
            Failed(snapshot, store.Address, e);
            return false;
        }

        for (var i = 0; i < _asked.Count; i++)
        {
            _asked[i].Grant(result.Grants[i]);
        }

        state.Answered(result.Instances);
        if (!_joined)
        {
            _joined = true;
            ClusterLog.Joined(_logger, cluster.InstanceId, store.Address, ConfigSyntax.FormatDuration(cluster.SyncInterval), state.Instances);
        }
        else if (state.Instances != instances)
        {
            ClusterLog.InstancesChanged(_logger, state.Instances, instances);
        }

        if (_down)
        {
            _down = false;
            ClusterLog.RedisBack(_logger, store.Address, Elapsed(_downSince), state.Instances);
        }

        return true;
    }

    private void Failed(RuntimeSnapshot snapshot, string address, Exception error)
    {
        var state = snapshot.Cluster!.State;
        state.Failed();
        foreach (var tenant in snapshot.Tenants.Values)
        {
            tenant.ClusterLimiter?.EnterFallback(state.Instances);
        }

        var reason = Reason(error);
        if (!_down)
        {
            _down = true;
            _downSince = _reminded = Stopwatch.GetTimestamp();
            ClusterLog.RedisDown(_logger, address, reason, state.Instances);
        }
        else if (Stopwatch.GetElapsedTime(_reminded) >= Reminder)
        {
            _reminded = Stopwatch.GetTimestamp();
            ClusterLog.RedisStillDown(_logger, address, Elapsed(_downSince), reason, state.Instances);
        }
    }

    private async Task OpenAsync(string address, string instanceId)
    {
        if (_store is not null && (_store.Address != address || _instanceId != instanceId))
        {
            await CloseAsync().ConfigureAwait(false);
        }

        if (_store is null)
        {
            _store = _open(address);
            _instanceId = instanceId;
            _joined = false;
        }
    }

    private async Task CloseAsync()
    {
        if (_store is not { } store)
        {
            return;
        }

        _store = null;
        try
        {
            await store.LeaveAsync(_instanceId!, LeaveTimeout, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Best-effort teardown: Redis may be the reason for stopping; the instance then drops out after its TTL.
        }

        await store.DisposeAsync().ConfigureAwait(false);
    }

    private void Wake()
    {
        try
        {
            if (_wake.CurrentCount == 0)
            {
                _wake.Release();
            }
        }
        catch (SemaphoreFullException)
        {
            // Two publishes raced: one wake-up is enough.
        }
    }

    private static string Reason(Exception error)
    {
        var message = error.Message;
        var line = message.IndexOf('\n', StringComparison.Ordinal);
        message = line >= 0 ? message[..line] : message;
        message = message.Length > 200 ? message[..200] : message;
        return $"{error.GetType().Name}: {message.TrimEnd()}";
    }

    private static string Elapsed(long since)
    {
        var elapsed = Stopwatch.GetElapsedTime(since);
        return elapsed < TimeSpan.FromSeconds(1)
            ? $"{(int)elapsed.TotalMilliseconds}ms"
            : elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + "s";
    }
}
