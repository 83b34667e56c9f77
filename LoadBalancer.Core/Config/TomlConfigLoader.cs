using Tomlyn;
using Tomlyn.Parsing;
using Tomlyn.Syntax;

namespace LoadBalancer.Core.Config;

/// <summary>
/// lb.toml text to <see cref="LbConfigFile"/>: reports TOML syntax errors, unknown keys, wrong value types and missing
/// required keys. Meaning (ranges, references, formats) is left to <see cref="ConfigValidator"/>.
/// </summary>
internal static partial class TomlConfigLoader
{
    private static readonly string[] RootKeys = ["server", "cluster", "admin", "access_log", "listeners", "tenants", "pools", "consumers", "usage", "dns"];
    private static readonly string[] DnsKeys = ["servers", "min_ttl", "max_ttl", "hold"];
    private static readonly string[] UsageKeys = ["path", "retention", "flush_interval"];
    private static readonly string[] ServerKeys = ["drain_timeout"];
    private static readonly string[] ClusterKeys = ["redis", "instance_id", "sync_interval"];
    private static readonly string[] AdminKeys = ["listen", "token", "tokens", "audit_log"];
    private static readonly string[] AdminTokenKeys = ["id", "sha256", "role"];
    private static readonly string[] AccessLogKeys = ["path", "buffer_lines"];
    private static readonly string[] ListenerKeys = ["name", "listen", "protocol", "tenant_key", "default_tenant", "limits", "timeouts", "accept_proxy_protocol", "forwarded_headers", "trust_forwarded_headers", "upgrade_protocols", "tls", "http2"];
    private static readonly string[] LimitKeys = ["max_head_bytes", "max_headers"];
    private static readonly string[] ListenerTimeoutKeys = ["request_head", "keep_alive", "body_idle"];
    private static readonly string[] TenantKeys =
    [
        "name", "match", "pool", "listeners", "rate_limit", "max_connections", "max_in_flight", "max_body_bytes",
        "access_keys", "access_keys_file", "access_key_header", "key_approval", "request_headers", "response_headers", "routes",
    ];
    private static readonly string[] RateLimitKeys = ["requests_per_second", "burst"];
    private static readonly string[] AccessKeyKeys = ["id", "sha256"];
    private static readonly string[] PoolKeys = ["name", "balancer", "hash_on", "backends", "timeouts", "send_proxy_protocol", "protocol", "max_connections_per_backend", "health", "retries", "outlier", "slow_start", "tls"];
    private static readonly string[] BackendKeys = ["address", "weight"];
    private static readonly string[] PoolTimeoutKeys = ["connect", "response_head", "idle", "queue"];

    /// <summary>Returns null when the text is not valid TOML: the tree of a broken file is partial, and reading it would only add noise.</summary>
    public static LbConfigFile? Load(string text, ConfigErrorList errors)
    {
        // Syntax first, on its own: TOML's table rules (a key defined twice) are only checked on a file that parses,
        // since on a broken one they would mostly report what the broken part made of the rest.
        DocumentSyntax document;
        try
        {
            if (ReportSyntaxErrors(text, errors))
            {
                return null;
            }

            document = SyntaxParser.Parse(text, errors.File, validate: true);
        }
        catch (Exception e) when (e is TomlException or ArgumentOutOfRangeException)
        {
            // Tomlyn throws instead of reporting a diagnostic for nesting past its depth limit (TomlException) and for
            // a backslash that is the text's last character (ArgumentOutOfRangeException while it formats end of file
            // as a code point); both found by fuzzing (issue 19). The loader's contract is every error as a value.
            errors.Add(SourcePosition.Start, "", $"invalid TOML: {e.Message}");
            return null;
        }

        if (document.HasErrors)
        {
            foreach (var diagnostic in document.Diagnostics)
            {
                if (diagnostic.Kind == DiagnosticMessageKind.Error)
                {
                    errors.Add(SourcePosition.From(diagnostic.Span.Start), "", diagnostic.Message);
                }
            }

            return null;
        }

        return Read(BuildTree(document), errors);
    }

    private static LbConfigFile Read(TomlNode root, ConfigErrorList errors)
    {
        var file = new LbConfigFile { GlobalFingerprint = TableFingerprint.OfRootWithout(root, errors.File, "tenants", "pools") };
        CheckKeys(root, "", RootKeys, errors);

        if (Section(root, "server", ServerKeys, errors) is { } server)
        {
            file.Server = new LbServerSection
            {
                Path = "server",
                Position = server.Position,
                DrainTimeout = String(server, "server", "drain_timeout", required: false, errors),
            };
        }

        if (Section(root, "cluster", ClusterKeys, errors) is { } cluster)
        {
            file.Cluster = new LbClusterSection
            {
                Path = "cluster",
                Position = cluster.Position,
                Redis = String(cluster, "cluster", "redis", required: false, errors),
                InstanceId = String(cluster, "cluster", "instance_id", required: false, errors),
                SyncInterval = String(cluster, "cluster", "sync_interval", required: false, errors),
            };
        }

        if (Section(root, "dns", DnsKeys, errors) is { } dns)
        {
            file.Dns = new LbDnsSection
            {
                Path = "dns",
                Position = dns.Position,
                Servers = StringArray(dns, "dns", "servers", required: false, errors, out var serversPosition),
                ServersPosition = serversPosition,
                MinTtl = String(dns, "dns", "min_ttl", required: false, errors),
                MaxTtl = String(dns, "dns", "max_ttl", required: false, errors),
                Hold = String(dns, "dns", "hold", required: false, errors),
            };
        }

        if (Section(root, "usage", UsageKeys, errors) is { } usage)
        {
            file.Usage = new LbUsageSection
            {
                Path = "usage",
                Position = usage.Position,
                File = String(usage, "usage", "path", required: true, errors),
                Retention = String(usage, "usage", "retention", required: false, errors),
                FlushInterval = String(usage, "usage", "flush_interval", required: false, errors),
            };
        }

        if (Section(root, "admin", AdminKeys, errors) is { } admin)
        {
            file.Admin = new LbAdminSection
            {
                Path = "admin",
                Position = admin.Position,
                Listen = String(admin, "admin", "listen", required: true, errors),
                Token = String(admin, "admin", "token", required: false, errors),
                Tokens = ReadAdminTokens(admin, errors),
                AuditLog = String(admin, "admin", "audit_log", required: false, errors),
            };
        }

        if (Section(root, "access_log", AccessLogKeys, errors) is { } accessLog)
        {
            file.AccessLog = new LbAccessLogSection
            {
                Path = "access_log",
                Position = accessLog.Position,
                Target = String(accessLog, "access_log", "path", required: true, errors),
                BufferLines = Integer(accessLog, "access_log", "buffer_lines", errors),
            };
        }

        // The data path has nothing to do without a listener, so an empty config is an error, not a no-op.
        var listeners = root.Get("listeners");
        if (listeners is null)
        {
            errors.AddRequired(SourcePosition.Start, "listeners", "at least one [[listeners]] is required");
        }
        else if (listeners is { Kind: TomlNodeKind.Array, Items.Count: 0 })
        {
            errors.Add(listeners.Position, "listeners", "at least one listener is required");
        }

        foreach (var (table, path) in TableArray(root, "listeners", errors))
        {
            file.Listeners.Add(ReadListener(table, path, errors));
        }

        foreach (var (table, path) in TableArray(root, "tenants", errors))
        {
            file.Tenants.Add(ReadTenant(table, path, errors));
        }

        foreach (var (table, path) in TableArray(root, "pools", errors))
        {
            file.Pools.Add(ReadPool(table, path, errors));
        }

        foreach (var (table, path) in TableArray(root, "consumers", errors))
        {
            file.Consumers.Add(ReadConsumer(table, path, errors));
        }

        return file;
    }

    private static List<LbAdminTokenEntry>? ReadAdminTokens(TomlNode admin, ConfigErrorList errors)
    {
        if (ArrayOfTables(admin, "admin", "tokens", AdminTokenKeys, "{ id = \"ops\", sha256 = \"<64 hex>\", role = \"write\" }", errors, out _) is not { } tokens)
        {
            return null;
        }

        var entries = new List<LbAdminTokenEntry>(tokens.Count);
        foreach (var (item, itemPath) in tokens)
        {
            entries.Add(new LbAdminTokenEntry
            {
                Path = itemPath,
                Position = item.Position,
                Id = String(item, itemPath, "id", required: true, errors),
                Sha256 = String(item, itemPath, "sha256", required: true, errors),
                Role = String(item, itemPath, "role", required: true, errors),
            });
        }

        return entries;
    }

    private static LbListenerSection ReadListener(TomlNode table, string path, ConfigErrorList errors)
    {
        CheckKeys(table, path, ListenerKeys, errors);
        var listener = new LbListenerSection
        {
            Path = path,
            Position = table.Position,
            Name = String(table, path, "name", required: true, errors),
            Listen = String(table, path, "listen", required: true, errors),
            Protocol = String(table, path, "protocol", required: false, errors),
            TenantKey = String(table, path, "tenant_key", required: false, errors),
            DefaultTenant = String(table, path, "default_tenant", required: false, errors),
            AcceptProxyProtocol = Boolean(table, path, "accept_proxy_protocol", errors),
            ForwardedHeaders = Boolean(table, path, "forwarded_headers", errors),
            TrustForwardedHeaders = Boolean(table, path, "trust_forwarded_headers", errors),
        };

        listener.UpgradeProtocols = StringArray(table, path, "upgrade_protocols", required: false, errors, out var upgradePosition);
        listener.UpgradeProtocolsPosition = upgradePosition;

        if (InlineTable(table, path, "limits", LimitKeys, errors) is { } limits)
        {
            var limitsPath = Join(path, "limits");
            listener.MaxHeadBytes = Integer(limits, limitsPath, "max_head_bytes", errors);
            listener.MaxHeaders = Integer(limits, limitsPath, "max_headers", errors);
        }

        if (InlineTable(table, path, "timeouts", ListenerTimeoutKeys, errors) is { } timeouts)
        {
            var timeoutsPath = Join(path, "timeouts");
            listener.RequestHead = String(timeouts, timeoutsPath, "request_head", required: false, errors);
            listener.KeepAlive = String(timeouts, timeoutsPath, "keep_alive", required: false, errors);
            listener.BodyIdle = String(timeouts, timeoutsPath, "body_idle", required: false, errors);
        }

        listener.Tls = ReadListenerTls(table, path, errors);
        ReadListenerHttp2(table, path, listener, errors);
        return listener;
    }

    private static LbTenantSection ReadTenant(TomlNode table, string path, ConfigErrorList errors)
    {
        CheckKeys(table, path, TenantKeys, errors);
        var tenant = new LbTenantSection
        {
            Path = path,
            Position = table.Position,
            Fingerprint = TableFingerprint.Of(table),
            Name = String(table, path, "name", required: true, errors),
            Pool = String(table, path, "pool", required: false, errors),
            Listeners = StringArray(table, path, "listeners", required: false, errors, out _),
            MaxConnections = Integer(table, path, "max_connections", errors),
            MaxInFlight = Integer(table, path, "max_in_flight", errors),
            MaxBodyBytes = Integer(table, path, "max_body_bytes", errors),
            AccessKeysFile = String(table, path, "access_keys_file", required: false, errors),
            AccessKeyHeader = String(table, path, "access_key_header", required: false, errors),
            KeyApproval = String(table, path, "key_approval", required: false, errors),
        };

        tenant.Match = StringArray(table, path, "match", required: true, errors, out var matchPosition);
        tenant.MatchPosition = matchPosition;

        if (ReadRateLimit(table, path, errors) is { } rateLimit)
        {
            (tenant.RateLimitPosition, tenant.RequestsPerSecond, tenant.Burst) = rateLimit;
        }

        tenant.RequestHeaders = ReadHeaderTransform(table, path, "request_headers", errors);
        tenant.ResponseHeaders = ReadHeaderTransform(table, path, "response_headers", errors);
        ReadRoutes(table, path, tenant, errors);

        tenant.AccessKeys = ReadKeyEntries(table, path, "access_keys", errors);
        return tenant;
    }

    private static LbPoolSection ReadPool(TomlNode table, string path, ConfigErrorList errors)
    {
        CheckKeys(table, path, PoolKeys, errors);
        var pool = new LbPoolSection
        {
            Path = path,
            Position = table.Position,
            Fingerprint = TableFingerprint.Of(table),
            Name = String(table, path, "name", required: true, errors),
            Balancer = String(table, path, "balancer", required: false, errors),
            HashOn = String(table, path, "hash_on", required: false, errors),
            MaxConnectionsPerBackend = Integer(table, path, "max_connections_per_backend", errors),
            SendProxyProtocol = String(table, path, "send_proxy_protocol", required: false, errors),
            Protocol = String(table, path, "protocol", required: false, errors),
        };

        var backends = ArrayOfTables(table, path, "backends", BackendKeys, "{ address = \"127.0.0.1:9001\", weight = 1 }", errors, out var backendsPosition);
        if (table.Get("backends") is null)
        {
            errors.AddRequired(table.Position, Join(path, "backends"));
        }
        else if (backends is not null)
        {
            pool.BackendsPosition = backendsPosition;
            pool.Backends = [];
            foreach (var (item, itemPath) in backends)
            {
                pool.Backends.Add(new LbBackendEntry
                {
                    Path = itemPath,
                    Position = item.Position,
                    Address = String(item, itemPath, "address", required: true, errors),
                    Weight = Integer(item, itemPath, "weight", errors),
                });
            }
        }

        if (InlineTable(table, path, "timeouts", PoolTimeoutKeys, errors) is { } timeouts)
        {
            var timeoutsPath = Join(path, "timeouts");
            pool.Connect = String(timeouts, timeoutsPath, "connect", required: false, errors);
            pool.ResponseHead = String(timeouts, timeoutsPath, "response_head", required: false, errors);
            pool.Idle = String(timeouts, timeoutsPath, "idle", required: false, errors);
            pool.Queue = String(timeouts, timeoutsPath, "queue", required: false, errors);
        }

        ReadPoolHealth(table, path, pool, errors);
        pool.Tls = ReadPoolTls(table, path, errors);
        return pool;
    }

    /// <summary>
    /// An array of inline tables under <paramref name="key"/> (e.g. <c>backends = [ { ... } ]</c>): its tables with
    /// their paths, keys checked; elements that are not tables are reported and skipped. Null when absent or not an array.
    /// </summary>
    private static List<(TomlNode Item, string Path)>? ArrayOfTables(
        TomlNode table, string path, string key, string[] itemKeys, string example, ConfigErrorList errors, out SourcePosition position)
    {
        var arrayPath = Join(path, key);
        var node = table.Get(key);
        position = node?.Position ?? table.Position;
        if (node is null)
        {
            return null;
        }

        if (node.Kind != TomlNodeKind.Array)
        {
            errors.Add(node.Position, arrayPath, $"must be an array of tables, e.g. [ {example} ]");
            return null;
        }

        var items = new List<(TomlNode Item, string Path)>(node.Items.Count);
        for (var i = 0; i < node.Items.Count; i++)
        {
            var item = node.Items[i];
            var itemPath = $"{arrayPath}[{i}]";
            if (item.Kind != TomlNodeKind.Table)
            {
                errors.Add(item.Position, itemPath, $"must be a table, e.g. {example}");
                continue;
            }

            CheckKeys(item, itemPath, itemKeys, errors);
            items.Add((item, itemPath));
        }

        return items;
    }

    private static IEnumerable<(TomlNode Table, string Path)> TableArray(TomlNode root, string key, ConfigErrorList errors)
    {
        var node = root.Get(key);
        if (node is null)
        {
            yield break;
        }

        if (node.Kind != TomlNodeKind.Array)
        {
            errors.Add(node.Position, key, $"must be an array of tables ([[{key}]])");
            yield break;
        }

        for (var i = 0; i < node.Items.Count; i++)
        {
            var item = node.Items[i];
            var path = $"{key}[{i}]";
            if (item.Kind != TomlNodeKind.Table)
            {
                errors.Add(item.Position, path, "must be a table");
                continue;
            }

            yield return (item, path);
        }
    }

    /// <summary>A single <c>[name]</c> table: null when absent, or (reported) when it is not a table; its keys are checked.</summary>
    private static TomlNode? Section(TomlNode root, string name, string[] allowed, ConfigErrorList errors)
    {
        if (root.Get(name) is not { } node)
        {
            return null;
        }

        if (node.Kind != TomlNodeKind.Table)
        {
            errors.Add(node.Position, name, $"must be a table ([{name}])");
            return null;
        }

        CheckKeys(node, name, allowed, errors);
        return node;
    }

    private static void CheckKeys(TomlNode table, string path, string[] allowed, ConfigErrorList errors)
    {
        foreach (var entry in table.Entries)
        {
            if (System.Array.IndexOf(allowed, entry.Key) < 0)
            {
                var keyPath = Join(path, entry.Key);
                if (KeySuggestion.Closest(entry.Key, allowed) is { } suggestion)
                {
                    // "is required" for the key it stands for would be the same mistake reported twice.
                    errors.AddMisspelling(Join(path, suggestion));
                    errors.Add(entry.KeyPosition, keyPath, $"unknown key, did you mean `{suggestion}`?");
                }
                else
                {
                    errors.Add(entry.KeyPosition, keyPath, $"unknown key (expected one of: {string.Join(", ", allowed)})");
                }
            }
        }
    }

    private static TomlNode? InlineTable(TomlNode table, string path, string key, string[] allowed, ConfigErrorList errors)
    {
        var node = table.Get(key);
        if (node is null)
        {
            return null;
        }

        if (node.Kind != TomlNodeKind.Table)
        {
            errors.Add(node.Position, Join(path, key), $"must be a table, e.g. {{ {allowed[0]} = ... }}");
            return null;
        }

        CheckKeys(node, Join(path, key), allowed, errors);
        return node;
    }

    private static ConfigValue<string>? String(TomlNode table, string path, string key, bool required, ConfigErrorList errors)
    {
        var node = table.Get(key);
        if (node is null)
        {
            if (required)
            {
                errors.AddRequired(table.Position, Join(path, key));
            }

            return null;
        }

        if (node.Kind != TomlNodeKind.String)
        {
            errors.Add(node.Position, Join(path, key), $"must be a string, not {Describe(node.Kind)}");
            return null;
        }

        return new ConfigValue<string>(node.String!, node.Position);
    }

    private static ConfigValue<bool>? Boolean(TomlNode table, string path, string key, ConfigErrorList errors)
    {
        var node = table.Get(key);
        if (node is null)
        {
            return null;
        }

        if (node.Kind != TomlNodeKind.Boolean)
        {
            errors.Add(node.Position, Join(path, key), $"must be true or false, not {Describe(node.Kind)}");
            return null;
        }

        return new ConfigValue<bool>(node.Flag, node.Position);
    }

    private static ConfigValue<long>? Integer(TomlNode table, string path, string key, ConfigErrorList errors)
    {
        var node = table.Get(key);
        if (node is null)
        {
            return null;
        }

        if (node.Kind != TomlNodeKind.Integer)
        {
            errors.Add(node.Position, Join(path, key), $"must be an integer, not {Describe(node.Kind)}");
            return null;
        }

        return new ConfigValue<long>(node.Integer, node.Position);
    }

    /// <summary>Non-string elements are reported and kept as nulls, so that indexes in later paths still match the file.</summary>
    private static List<ConfigValue<string>?>? StringArray(
        TomlNode table, string path, string key, bool required, ConfigErrorList errors, out SourcePosition position)
    {
        var node = table.Get(key);
        position = table.Position;
        if (node is null)
        {
            if (required)
            {
                errors.AddRequired(table.Position, Join(path, key));
            }

            return null;
        }

        position = node.Position;
        if (node.Kind != TomlNodeKind.Array)
        {
            errors.Add(node.Position, Join(path, key), $"must be an array of strings, not {Describe(node.Kind)}");
            return null;
        }

        var values = new List<ConfigValue<string>?>(node.Items.Count);
        for (var i = 0; i < node.Items.Count; i++)
        {
            var item = node.Items[i];
            if (item.Kind != TomlNodeKind.String)
            {
                errors.Add(item.Position, $"{Join(path, key)}[{i}]", $"must be a string, not {Describe(item.Kind)}");
                values.Add(null);
                continue;
            }

            values.Add(new ConfigValue<string>(item.String!, item.Position));
        }

        return values;
    }

    private static string Describe(TomlNodeKind kind) => kind switch
    {
        TomlNodeKind.Table => "a table",
        TomlNodeKind.Array => "an array",
        TomlNodeKind.String => "a string",
        TomlNodeKind.Integer => "an integer",
        TomlNodeKind.Float => "a float",
        TomlNodeKind.Boolean => "a boolean",
        _ => "a date-time",
    };

    internal static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";
}
