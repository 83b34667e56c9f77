using LoadBalancer.Core.Metrics;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Core.Config;

internal static partial class SnapshotCompiler
{
    /// <summary>
    /// The tenant's live <see cref="TenantState"/> is reused by name, so usage counters, connection and in-flight counts
    /// survive a reload; its rate limiter is carried over only when <c>rate_limit</c> is unchanged (a new one starts full).
    /// Nothing of the previous snapshot is modified, so a reload that is rejected later (bind failure) changes nothing.
    /// </summary>
    private static TenantSnapshot CompileTenant(LbTenantSection tenant, LbConfigFile file, Dictionary<string, PoolSnapshot> pools, RuntimeSnapshot? previous, Cluster.ClusterSettings? cluster)
    {
        var pool = tenant.Pool is { } poolName ? pools[poolName.Value] : null;
        var name = tenant.Name!.Value;
        TenantSnapshot? old = null;
        previous?.Tenants.TryGetValue(name, out old);
        var state = old?.State ?? new TenantState(name);
        TokenBucket? limiter = null;
        Cluster.ClusterRateLimiter? shared = null;
        if (tenant.RequestsPerSecond is { } rps)
        {
            (limiter, shared) = CompileRateLimit(name, rps.Value, tenant.Burst?.Value ?? rps.Value, old, cluster);
        }

        var keys = new List<AccessKey>();
        foreach (var key in tenant.AccessKeys ?? [])
        {
            ConfigValidator.TryParseSha256(key.Sha256!.Value, out var hash);
            keys.Add(new AccessKey(key.Id!.Value, hash, state.KeyUsage(key.Id.Value)));
        }

        foreach (var line in tenant.FileKeys)
        {
            if (AccessKey.From(line, state.KeyUsage(line.Id)) is { } key)
            {
                keys.Add(key);
            }
        }

        var consumers = CompileConsumers(name, tenant, file, state, old, keys);
        var header = tenant.AccessKeyHeader?.Value ?? "Authorization";
        var maxBody = tenant.MaxBodyBytes?.Value ?? -1;
        var (routes, fallback) = CompileRoutes(tenant, pool, pools, state, old, maxBody);
        return new TenantSnapshot
        {
            Name = name,
            SourceFingerprint = Fingerprint(tenant),
            Pool = pool,
            Routes = routes,
            Fallback = fallback,
            Consumers = consumers,
            Cells = CompileCells(state, consumers, routes),
            State = state,
            RateLimiter = limiter,
            ClusterLimiter = shared,
            MaxConnections = (int)(tenant.MaxConnections?.Value ?? 0),
            MaxInFlight = (int)(tenant.MaxInFlight?.Value ?? 0),
            MaxBodyBytes = maxBody,
            AccessKeys = [.. keys],
            AccessKeyHeader = header,
            AccessKeyIsBearer = string.Equals(header, "Authorization", StringComparison.OrdinalIgnoreCase),
        };
    }

    /// <summary>The writer is kept while its target and buffer are unchanged, so no line is lost across a reload.</summary>
    private static AccessLogWriter? CompileAccessLog(LbAccessLogSection? section, string sourcePath, RuntimeSnapshot? previous)
    {
        if (section?.Target is not { } target)
        {
            return null;
        }

        var resolved = string.Equals(target.Value, AccessLogWriter.Stdout, StringComparison.Ordinal)
            ? AccessLogWriter.Stdout
            : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(sourcePath)) ?? ".", target.Value);
        var capacity = (int)(section.BufferLines?.Value ?? AccessLogWriter.DefaultCapacity);
        if (previous?.AccessLog is { } old && old.Target == resolved && old.Capacity == capacity)
        {
            return old;
        }

        return new AccessLogWriter(resolved, capacity);
    }
}
