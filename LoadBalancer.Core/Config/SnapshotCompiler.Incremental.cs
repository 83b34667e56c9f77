using LoadBalancer.Core.Balancing;
using LoadBalancer.Core.Routing;

namespace LoadBalancer.Core.Config;

/// <summary>
/// The incremental part of a reload (issue 20): a tenant or pool whose parsed table (<see cref="TableFingerprint"/>)
/// is unchanged is taken from the live snapshot as it is, object and all, instead of being compiled again. At 10,000
/// tenants a one-tenant change then builds one tenant, the tables that index them and the listeners, and allocates a
/// few MB instead of ~30 MB of new snapshot that the GC would have to copy through its generations while the loops run.
/// </summary>
/// <remarks>
/// What a compiled tenant or pool depends on besides its own table decides when it may be reused:
/// <list type="bullet">
/// <item>everything outside <c>[[tenants]]</c> and <c>[[pools]]</c> (listeners, consumers, cluster, the file's path):
/// any change there, or another balancer registry, compiles everything;</item>
/// <item>a pool: also the tenants sharing it (<see cref="PoolSnapshot.TenantStates"/>, the fair share), which must be
/// the same names in the same order; pools with <c>tls</c> (files behind it) or DNS names (answers replace their
/// backends) are always compiled;</item>
/// <item>a tenant: also its <c>access_keys_file</c>'s keys (in its fingerprint) and every pool it sends to, which must
/// be reused too (else it would point at the replaced pool);</item>
/// <item>the listeners' tenant tables always index the new tenants, and are always built.</item>
/// </list>
/// <c>IncrementalCompileTests</c> holds this against a full compile over a set of edits.
/// </remarks>
internal static partial class SnapshotCompiler
{
    /// <summary>The live snapshot to reuse parts of, or null when a full compile is due.</summary>
    private static RuntimeSnapshot? ReuseBase(LbConfigFile file, RuntimeSnapshot? previous, BalancerRegistry registry, bool incremental)
    {
        if (!incremental || previous is null || previous.GlobalFingerprint == UInt128.Zero || !ReferenceEquals(previous.Registry, registry))
        {
            return null;
        }

        return previous.GlobalFingerprint == GlobalFingerprint(file) ? previous : null;
    }

    /// <summary>The file's fingerprint with the consumers' keys files, which every tenant a consumer calls is compiled with.</summary>
    private static UInt128 GlobalFingerprint(LbConfigFile file)
    {
        var fingerprint = file.GlobalFingerprint;
        foreach (var consumer in file.Consumers)
        {
            fingerprint = TableFingerprint.With(fingerprint, consumer.FileKeys);
        }

        return fingerprint;
    }

    private static UInt128 Fingerprint(LbTenantSection tenant) => TableFingerprint.With(tenant.Fingerprint, tenant.FileKeys);

    /// <summary>
    /// Per pool, the names of the tenants that share it, in file order: what the compile's fair-share pass makes of
    /// the tenants, read from the tables (a tenant's pool, then each route's pool or the tenant's, each once).
    /// </summary>
    private static Dictionary<string, List<string>> ServedBy(LbConfigFile file)
    {
        var served = new Dictionary<string, List<string>>(file.Pools.Count, StringComparer.Ordinal);
        var seen = new List<string>();
        foreach (var tenant in file.Tenants)
        {
            seen.Clear();
            if (tenant.Pool is { } own)
            {
                seen.Add(own.Value);
            }

            foreach (var route in tenant.Routes)
            {
                if ((route.Pool ?? tenant.Pool) is { } pool && !seen.Contains(pool.Value))
                {
                    seen.Add(pool.Value);
                }
            }

            foreach (var pool in seen)
            {
                if (!served.TryGetValue(pool, out var names))
                {
                    served[pool] = names = new List<string>(1);
                }

                names.Add(tenant.Name!.Value);
            }
        }

        return served;
    }

    private static PoolSnapshot? ReusablePool(LbPoolSection pool, RuntimeSnapshot? reuse, Dictionary<string, List<string>>? servedBy)
    {
        if (reuse is null || pool.Fingerprint == UInt128.Zero || pool.Tls is not null
            || !reuse.Pools.TryGetValue(pool.Name!.Value, out var old) || old.SourceFingerprint != pool.Fingerprint
            || old.Tls is not null || old.DnsTargets.Length != 0)
        {
            return null;
        }

        List<string>? names = null;
        servedBy?.TryGetValue(pool.Name.Value, out names);
        var states = old.TenantStates;
        if (states.Length != (names?.Count ?? 0))
        {
            return null;
        }

        for (var i = 0; i < states.Length; i++)
        {
            if (!string.Equals(states[i].Name, names![i], StringComparison.Ordinal))
            {
                return null;
            }
        }

        return old;
    }

    private static TenantSnapshot? ReusableTenant(LbTenantSection tenant, RuntimeSnapshot? reuse, Dictionary<string, PoolSnapshot> pools, HashSet<PoolSnapshot> reusedPools)
    {
        if (reuse is null || tenant.Fingerprint == UInt128.Zero
            || !reuse.Tenants.TryGetValue(tenant.Name!.Value, out var old) || old.SourceFingerprint != Fingerprint(tenant))
        {
            return null;
        }

        if ((old.Pool is { } pool && !reusedPools.Contains(pool)) || (old.Fallback is { } fallback && !reusedPools.Contains(fallback.Pool)))
        {
            return null;
        }

        foreach (var route in old.Routes.Routes)
        {
            if (!reusedPools.Contains(route.Pool))
            {
                return null;
            }
        }

        return old;
    }
}
