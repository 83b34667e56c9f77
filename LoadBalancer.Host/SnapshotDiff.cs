using System.Globalization;
using LoadBalancer.Core.Config;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Host;

/// <summary>
/// Says what a reload changed, for the reload log line and the answer to <c>POST /reload</c>: listeners, tenants, pools
/// and backends added or removed, and every setting that changed on the ones kept, named by its lb.toml key, e.g.
/// <c>tenant acme: rate_limit none -> { requests_per_second = 100, burst = 100 }; pool p: health.interval 2s -> 5s</c>.
/// </summary>
/// <remarks>
/// Each listener, tenant and pool is rendered as an ordered list of (key, value) pairs and the lists are compared, so
/// a setting added to a snapshot type shows up here by adding one line to its renderer. Off the data path: LINQ is fine.
/// </remarks>
internal static partial class SnapshotDiff
{
    private const string None = "none";

    /// <param name="replaced">Live backend states the new snapshot changed (their old values), since the reload wrote them already.</param>
    public static string Describe(RuntimeSnapshot before, RuntimeSnapshot after, IReadOnlyList<(BackendState State, Backend Previous)> replaced)
    {
        var parts = new List<string>();
        var scratch = new Scratch();
        Settings("server", Server(before), Server(after), parts);
        Entities("listener", before.Listeners.ToDictionary(l => l.Name), after.Listeners.ToDictionary(l => l.Name), (l, into) => Listener(l, into), parts, scratch);
        var servedBefore = Served(before.Listeners);
        var servedAfter = Served(after.Listeners);
        Entities("tenant", before.Tenants, after.Tenants, (t, into) => Tenant(t, servedBefore, into), parts, scratch, (t, into) => Tenant(t, servedAfter, into));
        Entities("pool", before.Pools, after.Pools, (p, into) => Pool(p, replaced, into), parts, scratch, (p, into) => Pool(p, [], into));
        return parts.Count == 0 ? "no change" : string.Join("; ", parts);
    }

    /// <summary>
    /// Renders every entity kept into two reused lists of unformatted values and compares them; only an entity that
    /// changed gets its values formatted. At 10,000 tenants and pools, formatting and a dictionary per entity and side
    /// took ~100-200 ms of each reload (issue 20).
    /// </summary>
    private static void Entities<T>(
        string what,
        IReadOnlyDictionary<string, T> before,
        IReadOnlyDictionary<string, T> after,
        Action<T, List<(string Key, Setting Value)>> render,
        List<string> parts,
        Scratch scratch,
        Action<T, List<(string Key, Setting Value)>>? renderAfter = null)
    {
        renderAfter ??= render;
        var added = after.Keys.Where(k => !before.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var removed = before.Keys.Where(k => !after.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        if (added.Count > 0)
        {
            parts.Add($"{what}s added: {string.Join(", ", added)}");
        }

        if (removed.Count > 0)
        {
            parts.Add($"{what}s removed: {string.Join(", ", removed)}");
        }

        foreach (var name in after.Keys.Where(before.ContainsKey).Order(StringComparer.Ordinal))
        {
            scratch.Before.Clear();
            scratch.After.Clear();
            render(before[name], scratch.Before);
            renderAfter(after[name], scratch.After);
            if (!Same(scratch.Before, scratch.After))
            {
                Settings($"{what} {name}", scratch.Before, scratch.After, parts);
            }
        }
    }

    /// <summary>
    /// Appends <c>label: key old -> new, ...</c> for every key whose value differs. A key on one side only is a
    /// sub-entry (<c>backend ADDRESS</c>) added or removed, or a setting that appears with its section (<c>health.*</c>).
    /// </summary>
    private static void Settings(string label, List<(string Key, Setting Value)> before, List<(string Key, Setting Value)> after, List<string> parts)
    {
        var old = new Dictionary<string, Setting>(before.Count, StringComparer.Ordinal);
        foreach (var (key, value) in before)
        {
            old[key] = value;
        }

        var changes = new List<string>();
        foreach (var (key, value) in after)
        {
            if (!old.Remove(key, out var previous))
            {
                changes.Add(value.IsEntry ? $"{value.Label(key)} added (weight {value})" : $"{key} {None} -> {value}");
            }
            else if (!previous.Equals(value))
            {
                changes.Add(value.IsEntry ? $"{value.Label(key)} weight {previous} -> {value}" : $"{key} {previous} -> {value}{Note(key)}");
            }
        }

        foreach (var (key, value) in old)
        {
            changes.Add(value.IsEntry ? $"{value.Label(key)} removed" : $"{key} {value} -> {None}");
        }

        if (changes.Count > 0)
        {
            parts.Add($"{label}: {string.Join(", ", changes)}");
        }
    }

    /// <summary>The common case of a reload, nearly every entity unchanged: compared in order, nothing formatted.</summary>
    private static bool Same(List<(string Key, Setting Value)> before, List<(string Key, Setting Value)> after)
    {
        if (before.Count != after.Count)
        {
            return false;
        }

        for (var i = 0; i < before.Count; i++)
        {
            if (!string.Equals(before[i].Key, after[i].Key, StringComparison.Ordinal) || !before[i].Value.Equals(after[i].Value))
            {
                return false;
            }
        }

        return true;
    }

    private static string Note(string key) => key.StartsWith("admin.", StringComparison.Ordinal) ? " (read at start: applies after a restart)" : "";

    private static List<(string, Setting)> Server(RuntimeSnapshot s) =>
    [
        ("server.drain_timeout", Duration(s.DrainTimeout)),
        ("admin.listen", s.AdminEndPoint?.ToString() ?? None),
        ("admin.token", s.AdminToken is null ? None : "set"),
        ("access_log.path", s.AccessLog?.Target ?? None),
        ("access_log.buffer_lines", s.AccessLog?.Capacity.ToString(CultureInfo.InvariantCulture) ?? None),
        ("cluster.redis", s.Cluster is null ? None : s.Cluster.Redis ?? None),
        ("cluster.instance_id", s.Cluster?.InstanceId ?? None),
        ("cluster.sync_interval", s.Cluster?.Redis is null ? None : Duration(s.Cluster.SyncInterval)),
    ];

    private static void Listener(ListenerSnapshot l, List<(string, Setting)> into) => into.AddRange(
    [
        ("listen", l.Listen),
        ("protocol", l.Protocol == ListenerProtocol.Tcp ? "tcp" : "http"),
        ("tenant_key", TenantKey(l)),
        ("default_tenant", l.DefaultTenant?.Name ?? None),
        ("limits.max_head_bytes", Number(l.Limits.MaxHeadBytes)),
        ("limits.max_headers", Number(l.Limits.MaxHeaders)),
        ("timeouts.request_head", Duration(l.Timeouts.RequestHead)),
        ("timeouts.keep_alive", Duration(l.Timeouts.KeepAlive)),
        ("timeouts.body_idle", Duration(l.Timeouts.BodyIdle)),
        ("accept_proxy_protocol", Flag(l.AcceptProxyProtocol)),
        ("forwarded_headers", Flag(l.AddForwardedHeaders)),
        ("trust_forwarded_headers", Flag(l.TrustForwardedHeaders)),
        ("upgrade_protocols", List(l.UpgradeProtocols.Select(p => System.Text.Encoding.ASCII.GetString(p)))),
    ]);

    /// <summary>
    /// Per tenant name, its match values and the listeners serving it, from one walk of the listeners' tables: asking
    /// each tenant to walk every table was quadratic (10,000 tenants took seconds). Lists, sorted where rendered: most
    /// tenants have one of each, and two sorted sets per tenant were most of what a diff of 10,000 tenants allocated.
    /// </summary>
    private static Dictionary<string, (List<string> Matches, List<string> Listeners)> Served(IReadOnlyList<ListenerSnapshot> listeners)
    {
        var served = new Dictionary<string, (List<string> Matches, List<string> Listeners)>(StringComparer.Ordinal);
        (List<string> Matches, List<string> Listeners) Of(string tenant)
        {
            if (!served.TryGetValue(tenant, out var entry))
            {
                served[tenant] = entry = (new List<string>(1), new List<string>(1));
            }

            return entry;
        }

        static void AddOnce(List<string> list, string value)
        {
            if (!list.Contains(value))
            {
                list.Add(value);
            }
        }

        foreach (var listener in listeners)
        {
            foreach (var (match, tenant) in listener.Tenants.Matches())
            {
                var entry = Of(tenant.Name);
                AddOnce(entry.Matches, match);
                AddOnce(entry.Listeners, listener.Name);
            }

            if (listener.DefaultTenant is { } fallback)
            {
                AddOnce(Of(fallback.Name).Listeners, listener.Name);
            }
        }

        return served;
    }

    private static void Tenant(TenantSnapshot t, Dictionary<string, (List<string> Matches, List<string> Listeners)> servedBy, List<(string, Setting)> settings)
    {
        var (matches, served) = servedBy.TryGetValue(t.Name, out var entry) ? entry : ([], []);
        settings.Add(("pool", t.Pool?.Name ?? None));
        settings.Add(("match", Setting.Items(matches)));
        settings.Add(("listeners", Setting.Items(served)));
        settings.Add(("rate_limit", t.RequestsPerSecond is { } rps ? Setting.RateLimit(rps, t.Burst ?? 0, t.ClusterLimiter is not null) : None));
        settings.Add(("max_connections", Limit(t.MaxConnections, 0)));
        settings.Add(("max_in_flight", Limit(t.MaxInFlight, 0)));
        settings.Add(("max_body_bytes", Limit(t.MaxBodyBytes, -1)));
        settings.Add(("access_keys", t.AccessKeys.Length == 0 ? None : Keys(t.AccessKeys)));
        settings.Add(("access_key_header", t.AccessKeyHeader));
        settings.Add(("request_headers", Transform(t.Fallback?.RequestHeaders)));
        settings.Add(("response_headers", Transform(t.Fallback?.ResponseHeaders)));
        foreach (var route in t.Routes.Routes)
        {
            settings.Add(($"routes.{route.Name}", Route(route)));
        }
    }

    /// <summary>One line per route: everything it matches and does, so that any change to it shows.</summary>
    private static string Route(LoadBalancer.Core.Routes.RouteSnapshot r)
    {
        var c = r.Conditions!;
        var text = new System.Text.StringBuilder();
        text.Append(c.Exact ? "path " : "path_prefix ").Append(c.Path);
        if (c.Methods is { } methods)
        {
            text.Append(", methods ").Append(List(methods.Select(m => System.Text.Encoding.ASCII.GetString(m))));
        }

        if (c.Headers.Length > 0)
        {
            text.Append(", headers ").Append(List(c.Headers.Select(h => $"{System.Text.Encoding.ASCII.GetString(h.Name)}={System.Text.Encoding.Latin1.GetString(h.Value)}")));
        }

        text.Append(", pool ").Append(r.Pool.Name);
        if (!r.Rewrite.IsNone)
        {
            text.Append(", path rewrite ").Append(r.Rewrite.StripLength).Append(" bytes -> \"").Append(System.Text.Encoding.ASCII.GetString(r.Rewrite.Prefix)).Append('"');
        }

        if (r.Host is { } host)
        {
            text.Append(", host ").Append(System.Text.Encoding.ASCII.GetString(host));
        }

        text.Append(", request_headers ").Append(Transform(r.RequestHeaders)).Append(", response_headers ").Append(Transform(r.ResponseHeaders));
        text.Append(", timeouts ").Append(Duration(r.Timeouts.Connect)).Append('/').Append(Duration(r.Timeouts.ResponseHead)).Append('/').Append(Duration(r.Timeouts.Queue));
        if (r.RateLimiter is { } limiter)
        {
            text.Append($", rate_limit {{ requests_per_second = {limiter.RequestsPerSecond}, burst = {limiter.Burst} }}");
        }

        text.Append(", max_body_bytes ").Append(Limit(r.MaxBodyBytes, -1));
        return text.ToString();
    }

    private static string Transform(LoadBalancer.Core.Http.HeaderTransform? transform)
        => transform is null ? None
            : $"{{ remove = {List(transform.Removed.Select(n => System.Text.Encoding.ASCII.GetString(n)))}, add = {List(transform.Added.Select(a => $"{System.Text.Encoding.ASCII.GetString(a.Name)}: {System.Text.Encoding.Latin1.GetString(a.Value)}"))} }}";

    /// <summary>Counted and named by id, never by hash: a key swapped under the same id reads as a changed count-and-ids line.</summary>
    private static string Keys(AccessKey[] keys)
    {
        if (keys.Length == 0)
        {
            return None;
        }

        // The hash prefix only tells "same id, new key" apart from "unchanged"; it is no secret (lb logs no key).
        var ids = keys.Select(k => k.Id).Order(StringComparer.Ordinal);
        var fingerprint = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(keys.OrderBy(k => k.Id, StringComparer.Ordinal).SelectMany(k => k.Sha256).ToArray()))[..8];
        return $"{keys.Length} {(keys.Length == 1 ? "key" : "keys")} ({string.Join(", ", ids)}; set {fingerprint})";
    }

    private static void Pool(PoolSnapshot p, IReadOnlyList<(BackendState State, Backend Previous)> replaced, List<(string, Setting)> settings)
    {
        settings.Add(("balancer", p.BalancerName));
        settings.Add(("hash_on", p.BalancerName == "weighted-hash" ? HashOn(p) : "-"));
        settings.Add(("timeouts.connect", Duration(p.Timeouts.Connect)));
        settings.Add(("timeouts.response_head", Duration(p.Timeouts.ResponseHead)));
        settings.Add(("timeouts.idle", Duration(p.Timeouts.Idle)));
        settings.Add(("timeouts.queue", Duration(p.Timeouts.Queue)));
        settings.Add(("send_proxy_protocol", p.SendProxyProtocol switch { ProxyProtocolVersion.V1 => "v1", ProxyProtocolVersion.V2 => "v2", _ => None }));
        settings.Add(("max_connections_per_backend", Limit(p.MaxConnectionsPerBackend, 0)));
        settings.Add(("retries.attempts", Number(p.Retries.Attempts)));
        settings.Add(("retries.budget", Setting.Share(p.Retries.Budget)));
        settings.Add(("outlier.consecutive_failures", Number(p.Outlier.ConsecutiveFailures)));
        settings.Add(("outlier.base_ejection", Duration(p.Outlier.BaseEjection)));
        settings.Add(("outlier.max_ejected_share", Setting.Share(p.Outlier.MaxEjectedShare)));
        settings.Add(("slow_start", p.SlowStart > TimeSpan.Zero ? Duration(p.SlowStart) : "off"));
        settings.Add(("health.all_down", p.AllDown == AllDownPolicy.TryAll ? "try-all" : "fail"));

        if (p.HealthCheck is { } health)
        {
            settings.Add(("health.type", health.Kind == HealthCheckKind.Http ? "http" : "tcp"));
            if (health.Kind == HealthCheckKind.Http)
            {
                settings.Add(("health.path", health.Path));
                settings.Add(("health.expect", health.ExpectMin == health.ExpectMax ? Number(health.ExpectMin) : (Setting)$"{health.ExpectMin}-{health.ExpectMax}"));
            }

            settings.Add(("health.interval", Duration(health.Interval)));
            settings.Add(("health.timeout", Duration(health.Timeout)));
            settings.Add(("health.rise", Number(health.Rise)));
            settings.Add(("health.fall", Number(health.Fall)));
        }
        else
        {
            settings.Add(("health", "off"));
        }

        // One entry per backend, keyed by address, valued by weight: "backend A weight 1 -> 2", "backend B added (weight 1)".
        foreach (var backend in p.Backends)
        {
            var config = Before(backend, replaced);
            settings.Add((config.Address, Setting.Backend(config.Weight)));
        }
    }

    private static Backend Before(BackendState state, IReadOnlyList<(BackendState State, Backend Previous)> replaced)
    {
        foreach (var (changed, previous) in replaced)
        {
            if (ReferenceEquals(changed, state))
            {
                return previous;
            }
        }

        return state.Config;
    }

    private static string TenantKey(ListenerSnapshot l) => l.TenantKey switch
    {
        TenantKeyKind.Header => $"header:{l.TenantHeader}",
        TenantKeyKind.PathPrefix => "path-prefix",
        TenantKeyKind.Sni => "sni",
        _ when l.Protocol == ListenerProtocol.Tcp => None,
        _ => "host",
    };

    private static string HashOn(PoolSnapshot p) => p.HashOn switch
    {
        HashSource.Header => $"header:{p.HashName}",
        HashSource.Cookie => $"cookie:{p.HashName}",
        HashSource.Path => "path",
        _ => "client-ip",
    };

    private static string List(IEnumerable<string> items) => $"[{string.Join(", ", items)}]";


    private static Setting Limit(long value, long unlimited) => value == unlimited ? "unlimited" : Number(value);

    private static Setting Number(long value) => Setting.Number(value);

    private static string Flag(bool value) => value ? "true" : "false";

    private static Setting Duration(TimeSpan value) => Setting.Duration(value);

    /// <summary>The two lists an entity kept by a reload is rendered into, reused from one entity to the next.</summary>
    private sealed class Scratch
    {
        public List<(string Key, Setting Value)> Before { get; } = new(32);

        public List<(string Key, Setting Value)> After { get; } = new(32);
    }
}
