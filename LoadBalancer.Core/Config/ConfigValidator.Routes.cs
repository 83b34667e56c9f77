using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;
using LoadBalancer.Core.Tls;

namespace LoadBalancer.Core.Config;

/// <summary>
/// <c>[[tenants.routes]]</c> and header transforms: formats, references, what may not be edited, and routes that can
/// never be told apart (or never match because an earlier one takes all their requests).
/// </summary>
internal static partial class ConfigValidator
{
    private const int MaxRoutePathLength = 1024;

    /// <summary>lb owns these: framing and hop-by-hop fields (RFC 9110 section 7.6.1, RFC 9112 section 6), which a transform could only break.</summary>
    private static readonly string[] ManagedFields = ["Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length", "HTTP2-Settings"];

    private static void ValidateRoutes(LbConfigFile file, ListenerIndex listeners, Dictionary<string, LbPoolSection> pools, Dictionary<LbTenantSection, List<LbListenerSection>> served, ConfigErrorList errors)
    {
        foreach (var tenant in file.Tenants)
        {
            if (tenant.Pool is null)
            {
                if (tenant.Routes.Count == 0)
                {
                    errors.AddRequired(tenant.Position, TomlConfigLoader.Join(tenant.Path, "pool"), "is required (or [[tenants.routes]] with their own pools)");
                }
                else if (served.TryGetValue(tenant, out var listenersOfTenant) && listenersOfTenant.FirstOrDefault(l => listeners.Info(l).Protocol == ListenerProtocol.Tcp) is { } tcp)
                {
                    errors.Add(tenant.Position, TomlConfigLoader.Join(tenant.Path, "pool"), $"is required: tcp listener {Describe(tcp)} serves this tenant, and routes apply to http only");
                }
            }

            ValidateTransform(tenant.RequestHeaders, request: true, errors);
            ValidateTransform(tenant.ResponseHeaders, request: false, errors);
            if (tenant.Routes.Count == 0)
            {
                continue;
            }

            var names = new Dictionary<string, LbRouteSection>(StringComparer.Ordinal);
            foreach (var route in tenant.Routes)
            {
                ValidateRoute(tenant, route, pools, names, errors);
            }

            CheckRoutesDistinct(tenant, errors);
        }

        foreach (var (listener, info) in listeners.All)
        {
            if (info.Protocol == ListenerProtocol.Tcp && listener.DefaultTenant is { } name
                && file.Tenants.FirstOrDefault(t => t.Name?.Value == name.Value) is { Pool: null, Routes.Count: > 0 })
            {
                errors.Add(name.Position, TomlConfigLoader.Join(listener.Path, "default_tenant"), $"tenant \"{name.Value}\" has no pool, and routes apply to http only");
            }
        }
    }

    private static void ValidateRoute(LbTenantSection tenant, LbRouteSection route, Dictionary<string, LbPoolSection> pools, Dictionary<string, LbRouteSection> names, ConfigErrorList errors)
    {
        string P(string key) => TomlConfigLoader.Join(route.Path, key);
        if (route.Name is { } name)
        {
            if (name.Value.Length is 0 or > 64 || !ConfigSyntax.IsToken(name.Value))
            {
                errors.Add(name.Position, P("name"), $"\"{name.Value}\" must be 1..64 characters without spaces or separators (an HTTP token)");
            }
            else if (!names.TryAdd(name.Value, route))
            {
                errors.Add(name.Position, P("name"), $"duplicate route name \"{name.Value}\" in this tenant (first used by {names[name.Value].Path})");
            }
        }

        if (route.Pool is { } pool)
        {
            if (!pools.ContainsKey(pool.Value))
            {
                errors.Add(pool.Position, P("pool"), $"no pool named \"{pool.Value}\"");
            }
        }
        else if (tenant.Pool is null)
        {
            errors.AddRequired(route.Position, P("pool"), "is required: the tenant has no pool to default to");
        }

        string? routePath = null;
        if (route.ExactPath is not null && route.PathPrefix is not null)
        {
            errors.Add(route.PathPrefix.Position, P("path_prefix"), "cannot be combined with path (an exact path); use one of them");
        }
        else if ((route.ExactPath ?? route.PathPrefix) is { } path)
        {
            routePath = CheckRoutePath(path, P(route.ExactPath is not null ? "path" : "path_prefix"), errors) ? path.Value : null;
        }
        else
        {
            routePath = "/";
        }

        if (route.Methods is { } methods)
        {
            if (methods.Count == 0)
            {
                errors.Add(route.MethodsPosition, P("methods"), "must list at least one method (leave it out to match any)");
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < methods.Count; i++)
            {
                if (methods[i] is not { } method)
                {
                    continue;
                }

                if (!ConfigSyntax.IsToken(method.Value))
                {
                    errors.Add(method.Position, $"{P("methods")}[{i}]", $"\"{method.Value}\" is not a method name");
                }
                else if (!seen.Add(method.Value))
                {
                    errors.Add(method.Position, $"{P("methods")}[{i}]", $"\"{method.Value}\" is listed twice");
                }
            }
        }

        var headerNames = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (fieldName, value) in route.Headers ?? [])
        {
            var fieldPath = TomlConfigLoader.Join(P("headers"), fieldName.Value);
            if (!ConfigSyntax.IsToken(fieldName.Value))
            {
                errors.Add(fieldName.Position, fieldPath, $"\"{fieldName.Value}\" is not a header name");
            }
            else if (!headerNames.Add(fieldName.Value))
            {
                errors.Add(fieldName.Position, fieldPath, $"\"{fieldName.Value}\" is listed twice (names are case-insensitive)");
            }

            if (CheckFieldValue(value.Value) is { } problem)
            {
                errors.Add(value.Position, fieldPath, problem);
            }
        }

        if (route.StripPrefix is not null && route.RewritePrefix is not null)
        {
            errors.Add(route.RewritePrefix.Position, P("rewrite_prefix"), "cannot be combined with strip_prefix; use one of them");
        }
        else if (route.StripPrefix is { } strip && CheckRoutePath(strip, P("strip_prefix"), errors) && routePath is not null)
        {
            var prefix = ConfigSyntax.NormalizePrefix(strip.Value);
            if (prefix == "/")
            {
                errors.Add(strip.Position, P("strip_prefix"), "\"/\" strips nothing");
            }
            else if (!IsBoundaryPrefix(prefix, routePath))
            {
                errors.Add(strip.Position, P("strip_prefix"), $"\"{strip.Value}\" must be the start of the route's path (\"{routePath}\"), up to a \"/\"");
            }
        }
        else if (route.RewritePrefix is { } rewrite)
        {
            CheckRoutePath(rewrite, P("rewrite_prefix"), errors);
        }

        if (route.Host is { } host && !IsAuthority(host.Value))
        {
            errors.Add(host.Position, P("host"), $"\"{host.Value}\" is not a host (name or IP literal, optionally :port)");
        }

        ValidateTransform(route.RequestHeaders, request: true, errors);
        ValidateTransform(route.ResponseHeaders, request: false, errors);
        CheckDuration(route.Connect, route.Path, "timeouts.connect", errors);
        CheckDuration(route.ResponseHead, route.Path, "timeouts.response_head", errors);
        CheckDuration(route.Queue, route.Path, "timeouts.queue", errors);
        CheckRange(route.RequestsPerSecond, route.Path, "rate_limit.requests_per_second", 1, MaxRate, errors);
        CheckRange(route.Burst, route.Path, "rate_limit.burst", 1, MaxRate, errors);
        CheckRange(route.MaxBodyBytes, route.Path, "max_body_bytes", 0, MaxBodyLimit, errors);
    }

    /// <summary>"/v1" is a boundary prefix of "/v1" and "/v1/chat", not of "/v1chat".</summary>
    private static bool IsBoundaryPrefix(string prefix, string path)
    {
        var normalized = ConfigSyntax.NormalizePrefix(path);
        return normalized == prefix || normalized.StartsWith(prefix + "/", StringComparison.Ordinal);
    }

    private static bool CheckRoutePath(ConfigValue<string> path, string where, ConfigErrorList errors)
    {
        var value = path.Value;
        if (value.Length == 0 || value[0] != '/' || value.Length > MaxRoutePathLength
            || value.AsSpan().IndexOfAny("?#") >= 0 || value.Any(c => c is <= ' ' or >= (char)0x7f))
        {
            errors.Add(path.Position, where, $"\"{value}\" must be a path starting with \"/\" (at most {MaxRoutePathLength} visible ASCII characters, no query or fragment)");
            return false;
        }

        return true;
    }

    private static void ValidateTransform(LbHeaderTransformSection? transform, bool request, ConfigErrorList errors)
    {
        if (transform is null)
        {
            return;
        }

        foreach (var (verb, pairs) in (ReadOnlySpan<(string, List<(ConfigValue<string> Name, ConfigValue<string> Value)>)>)[("set", transform.Set), ("add", transform.Add)])
        {
            foreach (var (name, value) in pairs)
            {
                var fieldPath = TomlConfigLoader.Join(TomlConfigLoader.Join(transform.Path, verb), name.Value);
                CheckEditedName(name.Value, name.Position, fieldPath, request, errors);
                if (CheckFieldValue(value.Value) is { } problem)
                {
                    errors.Add(value.Position, fieldPath, problem);
                }
            }
        }

        for (var i = 0; i < transform.Remove.Count; i++)
        {
            if (transform.Remove[i] is { } name)
            {
                CheckEditedName(name.Value, name.Position, $"{TomlConfigLoader.Join(transform.Path, "remove")}[{i}]", request, errors);
            }
        }
    }

    private static void CheckEditedName(string name, SourcePosition position, string path, bool request, ConfigErrorList errors)
    {
        if (!ConfigSyntax.IsToken(name))
        {
            errors.Add(position, path, $"\"{name}\" is not a header name");
        }
        else if (ManagedFields.Contains(name, StringComparer.OrdinalIgnoreCase))
        {
            errors.Add(position, path, $"{name} cannot be edited: lb sets the framing and hop-by-hop fields itself");
        }
        else if (request && string.Equals(name, "Host", StringComparison.OrdinalIgnoreCase))
        {
            errors.Add(position, path, "Host cannot be edited here: use the route's host = \"...\"");
        }
        else if (request && (string.Equals(name, ClientCertificateHeaders.SubjectName, StringComparison.OrdinalIgnoreCase)
                             || string.Equals(name, ClientCertificateHeaders.Sha256Name, StringComparison.OrdinalIgnoreCase)))
        {
            // Backends trust these because only lb writes them (from a certificate it verified); a transform that could
            // set one would let any client of the route claim any identity.
            errors.Add(position, path, $"{name} cannot be edited: lb sets it from the client certificate it verified (client_auth)");
        }
    }

    /// <summary>A field value lb can write as it is: visible ASCII, spaces and tabs inside, nothing that could end a line.</summary>
    private static string? CheckFieldValue(string value)
    {
        foreach (var c in value)
        {
            if (c is not ('\t' or (>= ' ' and < (char)0x7f)))
            {
                return "must be visible ASCII (spaces and tabs allowed inside; no CR, LF or other control characters)";
            }
        }

        return value.Length > 0 && (value[0] is ' ' or '\t' || value[^1] is ' ' or '\t') ? "must not start or end with a space or tab" : null;
    }

    private static bool IsAuthority(string value)
        => value.Length is > 0 and <= 255 && value.All(c => char.IsAsciiLetterOrDigit(c) || "-._~!$&'()*+,;=:[]%".Contains(c));

    /// <summary>
    /// Routes on one path are tried by precedence (more conditions first, then file order), so a route is unreachable
    /// when one before it matches everything it matches: any method where it lists some (or the same or more), and a
    /// subset of its headers. Identical conditions are the case the issue names: they can never be told apart.
    /// </summary>
    private static void CheckRoutesDistinct(LbTenantSection tenant, ConfigErrorList errors)
    {
        var groups = new Dictionary<(bool Exact, string Path), List<LbRouteSection>>();
        foreach (var route in tenant.Routes)
        {
            if (route.ExactPath is not null && route.PathPrefix is not null)
            {
                continue;
            }

            var key = route.ExactPath is { } exact ? (true, exact.Value) : (false, ConfigSyntax.NormalizePrefix(route.PathPrefix?.Value ?? "/"));
            if (!groups.TryGetValue(key, out var list))
            {
                groups[key] = list = [];
            }

            list.Add(route);
        }

        foreach (var list in groups.Values)
        {
            if (list.Count < 2)
            {
                continue;
            }

            var ordered = list.OrderByDescending(ConditionCount).ToList();
            for (var j = 1; j < ordered.Count; j++)
            {
                for (var i = 0; i < j; i++)
                {
                    if (!Covers(ordered[i], ordered[j]))
                    {
                        continue;
                    }

                    var first = ordered[i];
                    var later = ordered[j];
                    var where = $"{errors.File}:{first.Position.Line}:{first.Position.Column}";
                    var message = Covers(later, first)
                        ? $"route \"{later.Name?.Value}\" cannot be told apart from route \"{first.Name?.Value}\" ({first.Path} at {where}): same path, methods and headers"
                        : $"route \"{later.Name?.Value}\" can never match: route \"{first.Name?.Value}\" ({first.Path} at {where}) comes first and matches every request it would";
                    errors.Add(later.Position, later.Path, message);
                    break;
                }
            }
        }
    }

    private static int ConditionCount(LbRouteSection route) => (route.Methods is null ? 0 : 1) + (route.Headers?.Count ?? 0);

    private static bool Covers(LbRouteSection first, LbRouteSection later)
    {
        if (first.Methods is { } methods)
        {
            if (later.Methods is not { } laterMethods || laterMethods.Any(m => m is not null && !methods.Any(f => f?.Value == m.Value)))
            {
                return false;
            }
        }

        foreach (var (name, value) in first.Headers ?? [])
        {
            if (later.Headers?.Any(h => string.Equals(h.Name.Value, name.Value, StringComparison.OrdinalIgnoreCase) && h.Value.Value == value.Value) != true)
            {
                return false;
            }
        }

        return true;
    }
}
