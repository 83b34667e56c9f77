using System.Net;
using LoadBalancer.Core.Balancing;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Core.Config;

/// <summary>
/// Checks what <see cref="TomlConfigLoader"/> cannot: formats, ranges, unique names and addresses, references between
/// sections, and balancer needs. Reports every problem; <see cref="SnapshotCompiler"/> runs only when none was found.
/// </summary>
internal static partial class ConfigValidator
{
    private const int MinHeadBytes = 1024;
    private const int MaxHeadBytes = 1024 * 1024;
    private const int MaxHeaderCount = 1000;
    private const int MaxWeight = 1000;

    public static void Validate(LbConfigFile file, BalancerRegistry registry, ConfigErrorList errors)
    {
        var listeners = ValidateListeners(file, errors);
        var tenants = UniqueNames(file.Tenants, t => t.Name, t => t.Path, "tenant", errors);
        var pools = ValidatePools(file, registry, errors);

        foreach (var (listener, info) in listeners.All)
        {
            if (listener.DefaultTenant is { } defaultTenant && !tenants.ContainsKey(defaultTenant.Value))
            {
                errors.Add(defaultTenant.Position, TomlConfigLoader.Join(listener.Path, "default_tenant"), $"no tenant named \"{defaultTenant.Value}\"");
            }

            // A raw TCP stream has no Host, header or path to match on: without SNI the default tenant is its only route.
            if (info.Protocol == ListenerProtocol.Tcp && info.KeyKind != TenantKeyKind.Sni && listener.DefaultTenant is null)
            {
                errors.Add(listener.Name?.Position ?? listener.Position, listener.Path, "a tcp listener needs default_tenant or tenant_key = \"sni\" (tcp connections carry no other tenant key)");
            }

            if (listener.TenantKey is { } key && info.Valid && (info.Protocol == ListenerProtocol.Tcp) != (info.KeyKind == TenantKeyKind.Sni))
            {
                errors.Add(key.Position, TomlConfigLoader.Join(listener.Path, "tenant_key"), info.Protocol == ListenerProtocol.Tcp
                    ? "a tcp listener can only use tenant_key = \"sni\""
                    : "\"sni\" applies to tcp listeners only (an http listener routes on host, a header or the path)");
            }
        }

        CheckDuration(file.Server?.DrainTimeout, "server.drain_timeout", errors);
        var served = ValidateTenantReferences(file, listeners, pools, errors);
        ValidateMatches(file, listeners, served, errors);
        WarnUncoveredHosts(file, listeners, served, errors);
        ValidateTcpPools(listeners, tenants, pools, errors);
        ValidateTenancy(file, errors);
        ValidateAdminTokens(file.Admin, errors);
        ValidateRoutes(file, listeners, pools, served, errors);
        ValidateCluster(file, errors);
        ValidateDns(file, errors);
    }

    private static ListenerIndex ValidateListeners(LbConfigFile file, ConfigErrorList errors)
    {
        var index = new ListenerIndex(UniqueNames(file.Listeners, l => l.Name, l => l.Path, "listener", errors));
        var bound = new List<(IPEndPoint EndPoint, string Path, string Text)>();
        foreach (var listener in file.Listeners)
        {
            var info = new ListenerInfo();

            if (listener.Protocol is { } protocol)
            {
                if (protocol.Value == "tcp")
                {
                    info.Protocol = ListenerProtocol.Tcp;
                }
                else if (protocol.Value != "http")
                {
                    errors.Add(protocol.Position, TomlConfigLoader.Join(listener.Path, "protocol"), $"must be \"http\" or \"tcp\", not \"{protocol.Value}\"");
                    info.Valid = false;
                }
            }

            if (listener.TenantKey is { } tenantKey)
            {
                if (ConfigSyntax.TryParseTenantKey(tenantKey.Value, out var kind, out _))
                {
                    info.KeyKind = kind;
                }
                else
                {
                    errors.Add(tenantKey.Position, TomlConfigLoader.Join(listener.Path, "tenant_key"), $"must be \"host\", \"header:<Name>\", \"path-prefix\" or \"sni\" (tcp), not \"{tenantKey.Value}\"");
                    info.Valid = false;
                }
            }

            if (listener.Listen is { } listen)
            {
                CheckListen(listen, TomlConfigLoader.Join(listener.Path, "listen"), bound, errors);
            }

            CheckRange(listener.MaxHeadBytes, listener.Path, "limits.max_head_bytes", MinHeadBytes, MaxHeadBytes, errors);
            CheckRange(listener.MaxHeaders, listener.Path, "limits.max_headers", 1, MaxHeaderCount, errors);
            CheckDuration(listener.RequestHead, listener.Path, "timeouts.request_head", errors);
            CheckDuration(listener.KeepAlive, listener.Path, "timeouts.keep_alive", errors);
            CheckDuration(listener.BodyIdle, listener.Path, "timeouts.body_idle", errors);
            CheckUpgradeProtocols(listener, info, errors);
            ValidateListenerTls(listener, info, errors);
            ValidateListenerHttp2(listener, info, errors);
            index.Add(listener, info);
        }

        if (file.Admin?.Listen is { } adminListen)
        {
            CheckListen(adminListen, "admin.listen", bound, errors);
        }

        return index;
    }

    /// <summary>
    /// Protocols a client may switch an http listener's connection to (RFC 9110 section 7.8). h2c is refused: RFC 9113
    /// removed the upgrade, and after it lb could not parse the connection, so later requests (maybe for other tenants)
    /// would go unparsed to the first request's backend.
    /// </summary>
    private static void CheckUpgradeProtocols(LbListenerSection listener, ListenerInfo info, ConfigErrorList errors)
    {
        if (listener.UpgradeProtocols is not { } protocols)
        {
            return;
        }

        var path = TomlConfigLoader.Join(listener.Path, "upgrade_protocols");
        if (info.Protocol == ListenerProtocol.Tcp)
        {
            errors.Add(listener.UpgradeProtocolsPosition, path, "applies to http listeners only (a tcp listener never reads HTTP)");
            return;
        }

        for (var i = 0; i < protocols.Count; i++)
        {
            if (protocols[i] is not { } protocol)
            {
                continue;
            }

            var itemPath = $"{path}[{i}]";
            if (string.Equals(protocol.Value, "h2c", StringComparison.OrdinalIgnoreCase))
            {
                errors.Add(protocol.Position, itemPath, "h2c is never allowed: RFC 9113 removed the upgrade to HTTP/2, and lb could not parse the connection after it");
            }
            else if (protocol.Value.Length == 0 || !protocol.Value.All(c => c < 128 && Http.HttpChars.IsTchar((byte)c)))
            {
                errors.Add(protocol.Position, itemPath, $"must be a protocol name (an HTTP token such as \"websocket\"), not \"{protocol.Value}\"");
            }
        }
    }

    private static void CheckListen(ConfigValue<string> listen, string path, List<(IPEndPoint EndPoint, string Path, string Text)> bound, ConfigErrorList errors)
    {
        if (!ConfigSyntax.TryParseListen(listen.Value, out var endPoint))
        {
            errors.Add(listen.Position, path, $"\"{listen.Value}\" {ConfigSyntax.ListenFormat}");
            return;
        }

        foreach (var other in bound)
        {
            if (Overlaps(endPoint, other.EndPoint))
            {
                errors.Add(listen.Position, path, $"\"{listen.Value}\" overlaps {other.Path} (\"{other.Text}\"): both cannot be bound");
                return;
            }
        }

        bound.Add((endPoint, path, listen.Value));
    }

    /// <summary>Port 0 asks the OS for a fresh port, so it never collides; a wildcard address collides with any address of its family.</summary>
    private static bool Overlaps(IPEndPoint a, IPEndPoint b) =>
        a.Port != 0
        && a.Port == b.Port
        && a.AddressFamily == b.AddressFamily
        && (a.Address.Equals(b.Address) || IsWildcard(a.Address) || IsWildcard(b.Address));

    private static bool IsWildcard(IPAddress address) => address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any);

    private static Dictionary<string, LbPoolSection> ValidatePools(LbConfigFile file, BalancerRegistry registry, ConfigErrorList errors)
    {
        var pools = UniqueNames(file.Pools, p => p.Name, p => p.Path, "pool", errors);
        var seen = new Dictionary<IPEndPoint, string>();
        var names = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var pool in file.Pools)
        {
            if (!registry.TryGet(pool.Balancer?.Value ?? BalancerNames.RoundRobin, out var factory))
            {
                var known = string.Join(", ", registry.Names.Order(StringComparer.Ordinal));
                var path = TomlConfigLoader.Join(pool.Path, "balancer");
                if (pool.Balancer is { } balancer)
                {
                    errors.Add(balancer.Position, path, $"unknown balancer \"{balancer.Value}\" (known: {known})");
                }
                else
                {
                    errors.Add(pool.Position, path, $"is required: the default round-robin is not registered (known: {known})");
                }
            }

            if (pool.SendProxyProtocol is { } sendProxy && sendProxy.Value is not ("v1" or "v2"))
            {
                errors.Add(sendProxy.Position, TomlConfigLoader.Join(pool.Path, "send_proxy_protocol"), $"must be \"v1\" or \"v2\", not \"{sendProxy.Value}\"");
            }

            if (pool.Protocol is { } protocol && protocol.Value is not ("http/1.1" or "h2"))
            {
                errors.Add(protocol.Position, TomlConfigLoader.Join(pool.Path, "protocol"), $"must be \"http/1.1\" or \"h2\", not \"{protocol.Value}\"");
            }

            if (pool.Protocol is { Value: "h2" } && pool.SendProxyProtocol is { } proxyHeader)
            {
                errors.Add(proxyHeader.Position, TomlConfigLoader.Join(pool.Path, "send_proxy_protocol"), "cannot be used with protocol = \"h2\": an HTTP/2 backend connection carries many clients' streams, and a PROXY header names one");
            }

            if (pool.HashOn is { } hashOn)
            {
                var path = TomlConfigLoader.Join(pool.Path, "hash_on");
                if (!ConfigSyntax.TryParseHashOn(hashOn.Value, out _, out _))
                {
                    errors.Add(hashOn.Position, path, $"must be \"client-ip\", \"header:<Name>\", \"cookie:<Name>\" or \"path\", not \"{hashOn.Value}\"");
                }

                // No silent fallback: a hash_on the balancer ignores would suggest stickiness that does not exist.
                if (factory is { Needs: not BalancerNeeds.HashKey })
                {
                    var hashing = string.Join(", ", registry.Names.Where(n => registry.TryGet(n, out var f) && f.Needs == BalancerNeeds.HashKey).Order(StringComparer.Ordinal));
                    errors.Add(hashOn.Position, path, $"only applies to hashing balancers ({hashing}), not \"{factory.Name}\"");
                }
            }

            if (pool.Backends is { Count: 0 })
            {
                errors.Add(pool.BackendsPosition, TomlConfigLoader.Join(pool.Path, "backends"), "must list at least one backend");
            }

            seen.Clear();
            names.Clear();
            foreach (var backend in pool.Backends ?? [])
            {
                if (backend.Address is { } address)
                {
                    if (!ConfigSyntax.TryParseBackend(address.Value, out var endPoint))
                    {
                        if (!ConfigSyntax.TryParseNamedBackend(address.Value, out var host, out var port))
                        {
                            errors.Add(address.Position, TomlConfigLoader.Join(backend.Path, "address"), $"\"{address.Value}\" {ConfigSyntax.BackendFormat}");
                        }
                        else if (!names.TryAdd($"{host}:{port}", backend.Path))
                        {
                            errors.Add(address.Position, TomlConfigLoader.Join(backend.Path, "address"), $"duplicate backend \"{address.Value}\" (same name and port as {names[$"{host}:{port}"]})");
                        }
                    }
                    else if (!seen.TryAdd(endPoint, backend.Path))
                    {
                        errors.Add(address.Position, TomlConfigLoader.Join(backend.Path, "address"), $"duplicate backend \"{address.Value}\" (same endpoint as {seen[endPoint]})");
                    }
                }

                CheckRange(backend.Weight, backend.Path, "weight", 1, MaxWeight, errors);
            }

            CheckDuration(pool.Connect, pool.Path, "timeouts.connect", errors);
            CheckDuration(pool.ResponseHead, pool.Path, "timeouts.response_head", errors);
            CheckDuration(pool.Idle, pool.Path, "timeouts.idle", errors);
            ValidatePoolHealth(pool, errors);
            ValidatePoolTls(pool, errors);
        }

        return pools;
    }

    /// <summary>Checks pool and listener references; returns, per tenant, the listeners whose tenant table it joins.</summary>
    private static Dictionary<LbTenantSection, List<LbListenerSection>> ValidateTenantReferences(
        LbConfigFile file, ListenerIndex listeners, Dictionary<string, LbPoolSection> pools, ConfigErrorList errors)
    {
        var served = new Dictionary<LbTenantSection, List<LbListenerSection>>(file.Tenants.Count);

        // Most tenants name no listeners and join every http one: they share one list (read only from here on).
        List<LbListenerSection>? everyHttp = null;
        foreach (var tenant in file.Tenants)
        {
            if (tenant.Pool is { } pool && !pools.ContainsKey(pool.Value))
            {
                errors.Add(pool.Position, TomlConfigLoader.Join(tenant.Path, "pool"), $"no pool named \"{pool.Value}\"");
            }

            if (tenant.Listeners is null)
            {
                if (everyHttp is null)
                {
                    everyHttp = [];
                    foreach (var (listener, info) in listeners.All)
                    {
                        if (info.Protocol == ListenerProtocol.Http || info.KeyKind == TenantKeyKind.Sni)
                        {
                            everyHttp.Add(listener);
                        }
                    }
                }

                served[tenant] = everyHttp;
                continue;
            }

            var list = new List<LbListenerSection>();
            {
                for (var i = 0; i < tenant.Listeners.Count; i++)
                {
                    if (tenant.Listeners[i] is not { } name)
                    {
                        continue;
                    }

                    var path = $"{TomlConfigLoader.Join(tenant.Path, "listeners")}[{i}]";
                    if (!listeners.TryGet(name.Value, out var listener, out var info))
                    {
                        errors.Add(name.Position, path, $"no listener named \"{name.Value}\"");
                    }
                    else if (info.Protocol == ListenerProtocol.Tcp && info.KeyKind != TenantKeyKind.Sni)
                    {
                        errors.Add(name.Position, path, $"\"{name.Value}\" is a tcp listener without tenant_key = \"sni\", which routes only to its default_tenant");
                    }
                    else if (!list.Contains(listener))
                    {
                        list.Add(listener);
                    }
                }
            }

            served[tenant] = list;
        }

        return served;
    }

    private static void ValidateMatches(
        LbConfigFile file, ListenerIndex listeners, Dictionary<LbTenantSection, List<LbListenerSection>> served, ConfigErrorList errors)
    {
        // Per listener, who claimed each normalized match value first; the table needs them unique to be deterministic.
        var claims = new Dictionary<LbListenerSection, Dictionary<string, LbTenantSection>>();
        var invalid = new HashSet<int>();
        var checkedKinds = new HashSet<TenantKeyKind>();
        foreach (var tenant in file.Tenants)
        {
            if (tenant.Match is null)
            {
                continue;
            }

            if (tenant.Match.Count == 0)
            {
                errors.Add(tenant.MatchPosition, TomlConfigLoader.Join(tenant.Path, "match"), "must list at least one value");
                continue;
            }

            invalid.Clear();
            checkedKinds.Clear();
            foreach (var listener in served[tenant])
            {
                var info = listeners.Info(listener);
                if (!info.Valid || !checkedKinds.Add(info.KeyKind))
                {
                    continue;
                }

                for (var i = 0; i < tenant.Match.Count; i++)
                {
                    if (tenant.Match[i] is { } value && ConfigSyntax.CheckMatch(info.KeyKind, value.Value) is { } problem)
                    {
                        errors.Add(value.Position, $"{TomlConfigLoader.Join(tenant.Path, "match")}[{i}]", $"{problem} (tenant_key of listener {Describe(listener)})");
                        invalid.Add(i);
                    }
                }
            }

            foreach (var listener in served[tenant])
            {
                var info = listeners.Info(listener);
                if (!info.Valid)
                {
                    continue;
                }

                if (!claims.TryGetValue(listener, out var claimed))
                {
                    var comparer = info.KeyKind == TenantKeyKind.PathPrefix ? StringComparer.Ordinal : StringComparer.OrdinalIgnoreCase;
                    claims[listener] = claimed = new Dictionary<string, LbTenantSection>(file.Tenants.Count, comparer);
                }

                for (var i = 0; i < tenant.Match.Count; i++)
                {
                    if (tenant.Match[i] is not { } value || invalid.Contains(i))
                    {
                        continue;
                    }

                    var key = TenantTable.NormalizeConfigured(info.KeyKind, value.Value);
                    if (claimed.TryGetValue(key, out var owner))
                    {
                        var message = owner == tenant
                            ? $"\"{value.Value}\" is listed twice"
                            : $"\"{value.Value}\" is already claimed by tenant \"{owner.Name?.Value}\" on listener {Describe(listener)}";
                        errors.Add(value.Position, $"{TomlConfigLoader.Join(tenant.Path, "match")}[{i}]", message);
                    }
                    else
                    {
                        claimed[key] = tenant;
                    }
                }
            }
        }
    }

    /// <summary>Only client-ip can be hashed on a tcp connection: there is no request to read a header, cookie or path from.</summary>
    private static void ValidateTcpPools(
        ListenerIndex listeners, Dictionary<string, LbTenantSection> tenants, Dictionary<string, LbPoolSection> pools, ConfigErrorList errors)
    {
        var reported = new HashSet<LbPoolSection>();
        foreach (var (listener, info) in listeners.All)
        {
            if (info.Protocol != ListenerProtocol.Tcp
                || listener.DefaultTenant is not { } tenantName
                || !tenants.TryGetValue(tenantName.Value, out var tenant)
                || tenant.Pool is not { } poolName
                || !pools.TryGetValue(poolName.Value, out var pool)
                || pool.HashOn is not { } hashOn
                || !ConfigSyntax.TryParseHashOn(hashOn.Value, out var source, out _)
                || source == HashSource.ClientIp
                || !reported.Add(pool))
            {
                continue;
            }

            errors.Add(
                hashOn.Position,
                TomlConfigLoader.Join(pool.Path, "hash_on"),
                $"\"{hashOn.Value}\" needs an HTTP request, but pool \"{poolName.Value}\" serves tcp listener {Describe(listener)}; use \"client-ip\"");
        }
    }

    private static Dictionary<string, T> UniqueNames<T>(
        List<T> sections, Func<T, ConfigValue<string>?> name, Func<T, string> path, string noun, ConfigErrorList errors)
    {
        var byName = new Dictionary<string, T>(sections.Count, StringComparer.Ordinal);
        foreach (var section in sections)
        {
            if (name(section) is not { } value)
            {
                continue;
            }

            if (value.Value.Length == 0)
            {
                errors.Add(value.Position, TomlConfigLoader.Join(path(section), "name"), "must not be empty");
            }
            else if (!byName.TryAdd(value.Value, section))
            {
                errors.Add(value.Position, TomlConfigLoader.Join(path(section), "name"), $"duplicate {noun} name \"{value.Value}\" (first used by {path(byName[value.Value])})");
            }
        }

        return byName;
    }

    /// <summary>
    /// <see cref="CheckRange(ConfigValue{long}?, string, long, long, ConfigErrorList)"/> at <paramref name="section"/>.<paramref name="key"/>,
    /// joined only for an error: at 10,000 tenants the paths of values that are fine were most of what validating allocated.
    /// </summary>
    private static void CheckRange(ConfigValue<long>? value, string section, string key, long min, long max, ConfigErrorList errors)
    {
        if (value is not null && (value.Value < min || value.Value > max))
        {
            CheckRange(value, TomlConfigLoader.Join(section, key), min, max, errors);
        }
    }

    /// <summary><see cref="CheckDuration(ConfigValue{string}?, string, ConfigErrorList)"/> at <paramref name="section"/>.<paramref name="key"/>, joined only for an error.</summary>
    private static void CheckDuration(ConfigValue<string>? value, string section, string key, ConfigErrorList errors)
    {
        if (value is not null && !ConfigSyntax.TryParseDuration(value.Value, out _))
        {
            CheckDuration(value, TomlConfigLoader.Join(section, key), errors);
        }
    }

    private static void CheckRange(ConfigValue<long>? value, string path, long min, long max, ConfigErrorList errors)
    {
        if (value is not null && (value.Value < min || value.Value > max))
        {
            errors.Add(value.Position, path, $"must be {min}..{max}, not {value.Value}");
        }
    }

    private static void CheckDuration(ConfigValue<string>? value, string path, ConfigErrorList errors)
    {
        if (value is not null && !ConfigSyntax.TryParseDuration(value.Value, out _))
        {
            errors.Add(value.Position, path, $"\"{value.Value}\" {ConfigSyntax.DurationFormat}, at most 24h");
        }
    }

    private static string Describe(LbListenerSection listener) => listener.Name is { } name ? $"\"{name.Value}\"" : listener.Path;

    /// <summary>What the validator learned about a listener that later checks depend on.</summary>
    private sealed class ListenerInfo
    {
        public ListenerProtocol Protocol { get; set; } = ListenerProtocol.Http;

        public TenantKeyKind KeyKind { get; set; } = TenantKeyKind.Host;

        /// <summary>False when protocol or tenant_key did not parse, to skip match checks that would only echo that error.</summary>
        public bool Valid { get; set; } = true;
    }

    private sealed class ListenerIndex(Dictionary<string, LbListenerSection> byName)
    {
        private readonly List<(LbListenerSection Section, ListenerInfo Info)> _all = [];
        private readonly Dictionary<LbListenerSection, ListenerInfo> _info = [];

        public IReadOnlyList<(LbListenerSection Section, ListenerInfo Info)> All => _all;

        public void Add(LbListenerSection section, ListenerInfo info)
        {
            _all.Add((section, info));
            _info[section] = info;
        }

        public ListenerInfo Info(LbListenerSection section) => _info[section];

        public bool TryGet(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out LbListenerSection? section, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ListenerInfo? info)
        {
            info = null;
            if (byName.TryGetValue(name, out section))
            {
                info = _info[section];
                return true;
            }

            return false;
        }
    }
}
