namespace LoadBalancer.Core.Config;

/// <summary><c>[[tenants.routes]]</c> and the header transforms of tenants and routes.</summary>
internal static partial class TomlConfigLoader
{
    private static readonly string[] RouteKeys =
    [
        "name", "path", "path_prefix", "methods", "headers", "pool", "strip_prefix", "rewrite_prefix", "host",
        "request_headers", "response_headers", "timeouts", "rate_limit", "max_body_bytes",
    ];

    private static readonly string[] RouteTimeoutKeys = ["connect", "response_head", "queue"];
    private static readonly string[] HeaderTransformKeys = ["set", "add", "remove"];

    private static void ReadRoutes(TomlNode tenant, string tenantPath, LbTenantSection section, ConfigErrorList errors)
    {
        var node = tenant.Get("routes");
        if (node is null)
        {
            return;
        }

        var path = Join(tenantPath, "routes");
        if (node.Kind != TomlNodeKind.Array)
        {
            errors.Add(node.Position, path, "must be an array of tables ([[tenants.routes]])");
            return;
        }

        for (var i = 0; i < node.Items.Count; i++)
        {
            var item = node.Items[i];
            var itemPath = $"{path}[{i}]";
            if (item.Kind != TomlNodeKind.Table)
            {
                errors.Add(item.Position, itemPath, "must be a table");
                continue;
            }

            section.Routes.Add(ReadRoute(item, itemPath, i, errors));
        }
    }

    private static LbRouteSection ReadRoute(TomlNode table, string path, int index, ConfigErrorList errors)
    {
        CheckKeys(table, path, RouteKeys, errors);
        var route = new LbRouteSection
        {
            Path = path,
            Position = table.Position,
            Index = index,
            Name = String(table, path, "name", required: true, errors),
            ExactPath = String(table, path, "path", required: false, errors),
            PathPrefix = String(table, path, "path_prefix", required: false, errors),
            Pool = String(table, path, "pool", required: false, errors),
            StripPrefix = String(table, path, "strip_prefix", required: false, errors),
            RewritePrefix = String(table, path, "rewrite_prefix", required: false, errors),
            Host = String(table, path, "host", required: false, errors),
            MaxBodyBytes = Integer(table, path, "max_body_bytes", errors),
            RequestHeaders = ReadHeaderTransform(table, path, "request_headers", errors),
            ResponseHeaders = ReadHeaderTransform(table, path, "response_headers", errors),
        };

        route.Methods = StringArray(table, path, "methods", required: false, errors, out var methodsPosition);
        route.MethodsPosition = methodsPosition;
        route.Headers = StringTable(table, path, "headers", errors);
        if (InlineTable(table, path, "timeouts", RouteTimeoutKeys, errors) is { } timeouts)
        {
            var timeoutsPath = Join(path, "timeouts");
            route.Connect = String(timeouts, timeoutsPath, "connect", required: false, errors);
            route.ResponseHead = String(timeouts, timeoutsPath, "response_head", required: false, errors);
            route.Queue = String(timeouts, timeoutsPath, "queue", required: false, errors);
        }

        if (ReadRateLimit(table, path, errors) is { } rateLimit)
        {
            (route.RateLimitPosition, route.RequestsPerSecond, route.Burst) = rateLimit;
        }

        return route;
    }

    /// <summary><c>rate_limit = { requests_per_second, burst }</c> of a tenant or a route; null when absent or not a table.</summary>
    private static (SourcePosition Position, ConfigValue<long>? Rate, ConfigValue<long>? Burst)? ReadRateLimit(TomlNode table, string path, ConfigErrorList errors)
    {
        if (InlineTable(table, path, "rate_limit", RateLimitKeys, errors) is not { } rateLimit)
        {
            return null;
        }

        var rateLimitPath = Join(path, "rate_limit");
        var rate = Integer(rateLimit, rateLimitPath, "requests_per_second", errors);
        var burst = Integer(rateLimit, rateLimitPath, "burst", errors);
        if (rateLimit.Get("requests_per_second") is null)
        {
            errors.AddRequired(rateLimit.Position, Join(rateLimitPath, "requests_per_second"));
        }

        return (rateLimit.Position, rate, burst);
    }

    private static LbHeaderTransformSection? ReadHeaderTransform(TomlNode table, string path, string key, ConfigErrorList errors)
    {
        if (InlineTable(table, path, key, HeaderTransformKeys, errors) is not { } node)
        {
            return null;
        }

        var transformPath = Join(path, key);
        var transform = new LbHeaderTransformSection { Path = transformPath, Position = node.Position };
        transform.Set.AddRange(StringTable(node, transformPath, "set", errors) ?? []);
        transform.Add.AddRange(StringTable(node, transformPath, "add", errors) ?? []);
        transform.Remove.AddRange(StringArray(node, transformPath, "remove", required: false, errors, out _) ?? []);
        return transform;
    }

    /// <summary>A table of strings (<c>{ "X-Name" = "value" }</c>) as (name, value) pairs in file order; null when absent or not a table.</summary>
    private static List<(ConfigValue<string> Name, ConfigValue<string> Value)>? StringTable(TomlNode table, string path, string key, ConfigErrorList errors)
    {
        var node = table.Get(key);
        if (node is null)
        {
            return null;
        }

        var tablePath = Join(path, key);
        if (node.Kind != TomlNodeKind.Table)
        {
            errors.Add(node.Position, tablePath, "must be a table of strings, e.g. { \"X-Name\" = \"value\" }");
            return null;
        }

        var pairs = new List<(ConfigValue<string>, ConfigValue<string>)>(node.Entries.Count);
        foreach (var entry in node.Entries)
        {
            if (entry.Value.Kind != TomlNodeKind.String)
            {
                errors.Add(entry.Value.Position, Join(tablePath, entry.Key), $"must be a string, not {Describe(entry.Value.Kind)}");
                continue;
            }

            pairs.Add((new ConfigValue<string>(entry.Key, entry.KeyPosition), new ConfigValue<string>(entry.Value.String!, entry.Value.Position)));
        }

        return pairs;
    }
}
