using LoadBalancer.Core.Cluster;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Core.Config;

internal static partial class SnapshotCompiler
{
    /// <summary>The section, with the live <see cref="ClusterState"/> of the previous snapshot (the last known instance count survives a reload).</summary>
    private static ClusterSettings? CompileCluster(LbClusterSection? section, RuntimeSnapshot? previous)
    {
        if (section is null)
        {
            return null;
        }

        return new ClusterSettings
        {
            Redis = section.Redis?.Value,
            InstanceId = section.InstanceId?.Value ?? ClusterSettings.DefaultInstanceId(),
            SyncInterval = Duration(section.SyncInterval, ClusterSettings.DefaultSyncInterval),
            State = previous?.Cluster?.State ?? new ClusterState(),
        };
    }

    /// <summary>
    /// With <c>[cluster] redis</c>, a tenant's <c>rate_limit</c> is fleet-wide: its limiter is kept across a reload
    /// while the limit and the interval are unchanged (its leased tokens stay valid), else a new one starts in fallback
    /// and leases at the next round. Without it, the local <see cref="TokenBucket"/> is kept the same way.
    /// </summary>
    private static (TokenBucket? Local, ClusterRateLimiter? Shared) CompileRateLimit(string name, long rps, long burst, TenantSnapshot? old, ClusterSettings? cluster)
    {
        if (cluster?.Redis is null)
        {
            return (old?.RateLimiter is { } kept && kept.RequestsPerSecond == rps && kept.Burst == burst ? kept : new TokenBucket(rps, burst), null);
        }

        return (null, old?.ClusterLimiter is { } shared && shared.RequestsPerSecond == rps && shared.Burst == burst && shared.SyncInterval == cluster.SyncInterval
            ? shared
            : new ClusterRateLimiter(name, rps, burst, cluster.State.Instances, cluster.SyncInterval));
    }
}
