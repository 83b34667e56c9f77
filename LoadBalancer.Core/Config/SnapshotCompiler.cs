using System.Collections.Frozen;
using System.Net;
using LoadBalancer.Core.Balancing;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Core.Config;

/// <summary>
/// Validated <see cref="LbConfigFile"/> to a complete <see cref="RuntimeSnapshot"/>: everything the data path needs is
/// computed here (endpoints, tenant tables, balancers), so publishing is a single reference swap.
/// </summary>
internal static partial class SnapshotCompiler
{
    /// <remarks>
    /// Only runs on input that passed <see cref="ConfigValidator"/>, hence the null-forgiving reads of required values.
    /// Reused <see cref="BackendState"/>s get their new <see cref="Backend"/> immediately, while the previous snapshot
    /// may still be serving: a reader sees either the old or the new weight, both of which are valid.
    /// With <paramref name="incremental"/>, unchanged tenants and pools are the previous snapshot's own objects
    /// (SnapshotCompiler.Incremental.cs); the result equals a full compile's.
    /// </remarks>
    public static RuntimeSnapshot Compile(LbConfigFile file, string sourcePath, RuntimeSnapshot? previous, BalancerRegistry registry, bool incremental = true)
    {
        var reuse = ReuseBase(file, previous, registry, incremental);
        var servedBy = reuse is null ? null : ServedBy(file);
        var reusedPools = new HashSet<PoolSnapshot>(ReferenceEqualityComparer.Instance);
        var pools = new Dictionary<string, PoolSnapshot>(file.Pools.Count, StringComparer.Ordinal);
        var replaced = new List<(BackendState State, Backend Previous)>();
        foreach (var pool in file.Pools)
        {
            if (ReusablePool(pool, reuse, servedBy) is { } live)
            {
                reusedPools.Add(live);
                pools[pool.Name!.Value] = live;
                continue;
            }

            pools[pool.Name!.Value] = CompilePool(pool, previous, registry, replaced);
        }

        var cluster = CompileCluster(file.Cluster, previous);
        var tenants = new Dictionary<string, TenantSnapshot>(file.Tenants.Count, StringComparer.Ordinal);
        foreach (var tenant in file.Tenants)
        {
            tenants[tenant.Name!.Value] = ReusableTenant(tenant, reuse, pools, reusedPools) ?? CompileTenant(tenant, file, pools, previous, cluster);
        }

        // One pass over the tenants (in file order), not one per pool: with a pool per tenant that was 10^8 steps at 10,000.
        // A tenant joins the fair share of its own pool and of every pool its routes send to.
        var byPool = new Dictionary<PoolSnapshot, List<Tenancy.TenantState>>(pools.Count, ReferenceEqualityComparer.Instance);
        var served = new List<PoolSnapshot>();
        foreach (var tenant in tenants.Values)
        {
            served.Clear();
            if (tenant.Pool is { } own)
            {
                served.Add(own);
            }

            foreach (var route in tenant.Routes.Routes)
            {
                if (!served.Contains(route.Pool))
                {
                    served.Add(route.Pool);
                }
            }

            foreach (var pool in served)
            {
                if (!byPool.TryGetValue(pool, out var states))
                {
                    byPool[pool] = states = new List<Tenancy.TenantState>(1);
                }

                states.Add(tenant.State);
            }
        }

        foreach (var pool in pools.Values)
        {
            // A reused pool is live: its fair share is the same tenants already (ReusablePool checked), and is left alone.
            if (!reusedPools.Contains(pool))
            {
                pool.TenantStates = byPool.TryGetValue(pool, out var states) ? [.. states] : [];
            }
        }

        var accessLog = CompileAccessLog(file.AccessLog, sourcePath, previous);
        var listeners = new List<ListenerSnapshot>(file.Listeners.Count);
        foreach (var listener in file.Listeners)
        {
            listeners.Add(CompileListener(listener, file, tenants, accessLog, previous));
        }

        IPEndPoint? admin = null;
        if (file.Admin?.Listen is { } adminListen)
        {
            ConfigSyntax.TryParseListen(adminListen.Value, out admin);
        }

        return new RuntimeSnapshot
        {
            Listeners = listeners,
            Tenants = tenants.ToFrozenDictionary(StringComparer.Ordinal),
            Pools = pools.ToFrozenDictionary(StringComparer.Ordinal),
            AdminEndPoint = admin,
            ReplacedBackendConfigs = replaced,
            AdminToken = file.Admin?.Token?.Value,
            AdminCredentials = CompileAdminCredentials(file.Admin),
            AdminAuditLog = file.Admin?.AuditLog is { } auditLog ? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(sourcePath)) ?? ".", auditLog.Value) : null,
            AccessLog = accessLog,
            DrainTimeout = Duration(file.Server?.DrainTimeout, RuntimeSnapshot.DefaultDrainTimeout),
            Cluster = cluster,
            Dns = CompileDns(file.Dns),
            Usage = file.Usage?.File is { } ledger ? new Usage.UsageLedgerSettings
            {
                Path = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(sourcePath)) ?? ".", ledger.Value),
                Retention = file.Usage.Retention is { } retention && ConfigSyntax.TryParseRetention(retention.Value, out var kept) ? kept : Usage.UsageLedgerSettings.DefaultRetention,
                FlushInterval = Duration(file.Usage.FlushInterval, Usage.UsageLedgerSettings.DefaultFlushInterval),
            } : null,
            SourcePath = sourcePath,
            KeyFiles = KeyFiles(file, sourcePath),
            GlobalFingerprint = GlobalFingerprint(file),
            Registry = registry,
        };
    }

    /// <summary>
    /// For <c>lb check</c> (<see cref="ConfigLoader.CheckFile"/>): only the pools with a backend named by DNS, which the
    /// check resolves, and <c>[dns]</c>; nothing live is opened or reused.
    /// </summary>
    public static RuntimeSnapshot CompileForCheck(LbConfigFile file, string sourcePath, BalancerRegistry registry)
    {
        var pools = new Dictionary<string, PoolSnapshot>(StringComparer.Ordinal);
        foreach (var pool in file.Pools)
        {
            foreach (var entry in pool.Backends!)
            {
                if (!ConfigSyntax.TryParseBackend(entry.Address!.Value, out _))
                {
                    pools[pool.Name!.Value] = CompilePool(pool, null, registry, []);
                    break;
                }
            }
        }

        return new RuntimeSnapshot
        {
            Listeners = [],
            Tenants = FrozenDictionary<string, TenantSnapshot>.Empty,
            Pools = pools.ToFrozenDictionary(StringComparer.Ordinal),
            Dns = CompileDns(file.Dns),
            SourcePath = sourcePath,
        };
    }

    private static PoolSnapshot CompilePool(LbPoolSection pool, RuntimeSnapshot? previous, BalancerRegistry registry, List<(BackendState State, Backend Previous)> replaced)
    {
        var name = pool.Name!.Value;
        PoolSnapshot? oldPool = null;
        previous?.Pools.TryGetValue(name, out oldPool);
        BackendState[] old = oldPool?.Backends ?? [];
        var maxPerBackend = (int)(pool.MaxConnectionsPerBackend?.Value ?? 0);
        var retries = CompileRetries(pool); // health
        var state = CarryPoolState(oldPool);
        var slots = state.Slots;
        var literals = new List<BackendState>(pool.Backends!.Count);
        var targets = new List<Dns.DnsTarget>();
        foreach (var entry in pool.Backends)
        {
            var address = entry.Address!.Value;
            var weight = (int)(entry.Weight?.Value ?? 1);
            if (!ConfigSyntax.TryParseBackend(address, out var endPoint))
            {
                // A name (the validator took nothing else): its backends are whatever it last resolved to.
                ConfigSyntax.TryParseNamedBackend(address, out var host, out var port);
                targets.Add(CarryDnsTarget(oldPool, name, entry, host, port, weight, replaced));
                continue;
            }

            var config = new Backend(address, endPoint, weight);
            var literal = Reuse(old, config, replaced) ?? new BackendState(config);
            literal.Slots = slots;
            literals.Add(literal);
        }

        var states = new List<BackendState>(literals);
        foreach (var target in targets)
        {
            foreach (var resolved in target.Answer.Backends)
            {
                resolved.Slots = slots;
                states.Add(resolved);
            }
        }

        var all = states.ToArray();
        ApplySlowStart(all, pool); // health: slow_start lives on each BackendState
        var hostNames = targets.Select(t => t.Host).Distinct(StringComparer.Ordinal).ToArray();
        var backendTls = pool.Tls is { } tls
            ? new Tls.BackendTls(tls.Sni?.Value, tls.Verify?.Value ?? true, tls.LoadedCa, tls.CaHash, tls.LoadedClientCertificate, [.. literals], hostNames, http2: pool.Protocol?.Value == "h2") { CaFile = tls.CaFile }
            : null;
        registry.TryGet(pool.Balancer?.Value ?? BalancerNames.RoundRobin, out var factory);
        var hashOn = HashSource.ClientIp;
        string? hashName = null;
        if (pool.HashOn is { } hash)
        {
            ConfigSyntax.TryParseHashOn(hash.Value, out hashOn, out hashName);
        }

        return new PoolSnapshot
        {
            Name = name,
            SourceFingerprint = pool.Fingerprint,
            Backends = all,
            Balancer = factory!.Create(all),
            BalancerName = factory.Name,
            BalancerFactory = factory,
            LiteralBackends = [.. literals],
            DnsTargets = [.. targets],
            HashOn = hashOn,
            HashName = hashName,
            SendProxyProtocol = pool.SendProxyProtocol?.Value switch
            {
                "v1" => ProxyProtocolVersion.V1,
                "v2" => ProxyProtocolVersion.V2,
                _ => ProxyProtocolVersion.None,
            },
            HealthCheck = CompileHealthCheck(pool) is { } health ? health with { Tls = backendTls } : null, // health: the six lines up to Timeouts (SnapshotCompiler.Health.cs)
            AllDown = CompileAllDown(pool),
            Retries = retries,
            Outlier = CompileOutlier(pool),
            SlowStart = Duration(pool.SlowStart, TimeSpan.Zero),
            Timeouts = new PoolTimeouts
            {
                Connect = Duration(pool.Connect, PoolTimeouts.Default.Connect),
                ResponseHead = Duration(pool.ResponseHead, PoolTimeouts.Default.ResponseHead),
                Idle = Duration(pool.Idle, PoolTimeouts.Default.Idle),
                Queue = Duration(pool.Queue, PoolTimeouts.Default.Queue),
            },
            MaxConnectionsPerBackend = maxPerBackend,
            Http2 = pool.Protocol?.Value == "h2",
            State = state,
            Tls = backendTls,
        };
    }

    /// <summary>Same pool and same address as written: keep the live state (connection counts, health) across the reload.</summary>
    /// <remarks>
    /// The new weight is written into the live state now, because the new balancers are built from it; the change is
    /// recorded so that a reload rejected later (a listener that cannot bind, a drain) can put the old value back.
    /// </remarks>
    private static BackendState? Reuse(BackendState[] old, Backend config, List<(BackendState State, Backend Previous)> replaced)
    {
        foreach (var state in old)
        {
            if (state.Config.Address == config.Address)
            {
                if (state.Config != config)
                {
                    replaced.Add((state, state.Config));
                    state.Config = config;
                }

                return state;
            }
        }

        return null;
    }

    private static ListenerSnapshot? PreviousListener(RuntimeSnapshot? previous, string name)
    {
        foreach (var listener in previous?.Listeners ?? [])
        {
            if (listener.Name == name)
            {
                return listener;
            }
        }

        return null;
    }

    private static ListenerSnapshot CompileListener(LbListenerSection listener, LbConfigFile file, Dictionary<string, TenantSnapshot> tenants, Metrics.AccessLogWriter? accessLog, RuntimeSnapshot? previous)
    {
        var name = listener.Name!.Value;
        ConfigSyntax.TryParseListen(listener.Listen!.Value, out var endPoint);
        var protocol = listener.Protocol?.Value == "tcp" ? ListenerProtocol.Tcp : ListenerProtocol.Http;
        var kind = TenantKeyKind.Host;
        string? header = null;
        if (listener.TenantKey is { } tenantKey)
        {
            ConfigSyntax.TryParseTenantKey(tenantKey.Value, out kind, out header);
        }

        var matches = new List<KeyValuePair<string, TenantSnapshot>>();
        if (protocol == ListenerProtocol.Http || kind == TenantKeyKind.Sni)
        {
            foreach (var tenant in file.Tenants)
            {
                if (Serves(tenant, name))
                {
                    var snapshot = tenants[tenant.Name!.Value];
                    foreach (var match in tenant.Match!)
                    {
                        matches.Add(new(match!.Value, snapshot));
                    }
                }
            }
        }

        return new ListenerSnapshot
        {
            Name = name,
            Listen = listener.Listen.Value,
            EndPoint = endPoint,
            Protocol = protocol,
            TenantKey = kind,
            TenantHeader = header,
            DefaultTenant = listener.DefaultTenant is { } defaultTenant ? tenants[defaultTenant.Value] : null,
            Tenants = new TenantTable(kind, matches),
            Limits = new HttpLimits
            {
                MaxHeadBytes = (int)(listener.MaxHeadBytes?.Value ?? HttpLimits.Default.MaxHeadBytes),
                MaxHeaders = (int)(listener.MaxHeaders?.Value ?? HttpLimits.Default.MaxHeaders),
            },
            AccessLog = accessLog,
            AcceptProxyProtocol = listener.AcceptProxyProtocol?.Value ?? false,
            Http2 = Http2Enabled(listener),
            Http2Options = CompileHttp2(listener.Http2Settings),
            Http2Errors = PreviousListener(previous, name)?.Http2Errors ?? new Http2.Http2ErrorCounters(),
            Tls = CompileTls(listener, previous),
            AddForwardedHeaders = listener.ForwardedHeaders?.Value ?? true,
            TrustForwardedHeaders = listener.TrustForwardedHeaders?.Value ?? false,
            UpgradeProtocols = listener.UpgradeProtocols is { } upgrade
                ? [.. upgrade.Where(p => p is not null).Select(p => System.Text.Encoding.ASCII.GetBytes(p!.Value.ToLowerInvariant()))]
                : ListenerSnapshot.DefaultUpgradeProtocols,
            Timeouts = new ListenerTimeouts
            {
                RequestHead = Duration(listener.RequestHead, ListenerTimeouts.Default.RequestHead),
                KeepAlive = Duration(listener.KeepAlive, ListenerTimeouts.Default.KeepAlive),
                BodyIdle = Duration(listener.BodyIdle, ListenerTimeouts.Default.BodyIdle),
            },
        };
    }

    /// <summary>Without an explicit <c>listeners</c> list a tenant joins every http listener (tcp ones were filtered by the caller).</summary>
    private static bool Serves(LbTenantSection tenant, string listenerName)
    {
        if (tenant.Listeners is null)
        {
            return true;
        }

        foreach (var listener in tenant.Listeners)
        {
            if (listener?.Value == listenerName)
            {
                return true;
            }
        }

        return false;
    }

    private static TimeSpan Duration(ConfigValue<string>? value, TimeSpan fallback) =>
        value is not null && ConfigSyntax.TryParseDuration(value.Value, out var duration) ? duration : fallback;
}
