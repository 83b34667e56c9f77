using System.Text;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Routes;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Core.Config;

/// <summary>A tenant's routes and fallback, with their transforms merged over the tenant's and limits over its own.</summary>
internal static partial class SnapshotCompiler
{
    /// <summary>
    /// The tenant's routes in file order and its fallback (null without a tenant pool). A route's rate limiter is kept
    /// across a reload while its tenant, name and limit are unchanged, like the tenant's own.
    /// </summary>
    private static (RouteTable Routes, RouteSnapshot? Fallback) CompileRoutes(
        LbTenantSection tenant, PoolSnapshot? tenantPool, Dictionary<string, PoolSnapshot> pools, TenantState state, TenantSnapshot? old, long tenantMaxBody)
    {
        var fallback = tenantPool is null ? null : new RouteSnapshot
        {
            Pool = tenantPool,
            RequestHeaders = MergeTransforms(tenant.RequestHeaders, null),
            ResponseHeaders = MergeTransforms(tenant.ResponseHeaders, null),
            Timeouts = tenantPool.Timeouts,
            MaxBodyBytes = tenantMaxBody,
        };
        if (tenant.Routes.Count == 0)
        {
            return (RouteTable.Empty, fallback);
        }

        var routes = new RouteSnapshot[tenant.Routes.Count];
        for (var i = 0; i < routes.Length; i++)
        {
            var route = tenant.Routes[i];
            var name = route.Name!.Value;
            var pool = route.Pool is { } poolName ? pools[poolName.Value] : tenantPool!;
            var conditions = CompileConditions(route);
            TokenBucket? limiter = null;
            if (route.RequestsPerSecond is { } rps)
            {
                var burst = route.Burst?.Value ?? rps.Value;
                var kept = FindRoute(old, name)?.RateLimiter;
                limiter = kept is not null && kept.RequestsPerSecond == rps.Value && kept.Burst == burst ? kept : new TokenBucket(rps.Value, burst);
            }

            routes[i] = new RouteSnapshot
            {
                Name = name,
                Index = i,
                Pool = pool,
                Conditions = conditions,
                RequestHeaders = MergeTransforms(tenant.RequestHeaders, route.RequestHeaders),
                ResponseHeaders = MergeTransforms(tenant.ResponseHeaders, route.ResponseHeaders),
                Rewrite = CompileRewrite(route, conditions),
                Host = route.Host is { } host ? Encoding.ASCII.GetBytes(host.Value) : null,
                Timeouts = route.Connect is null && route.ResponseHead is null && route.Queue is null ? pool.Timeouts : pool.Timeouts with
                {
                    Connect = Duration(route.Connect, pool.Timeouts.Connect),
                    ResponseHead = Duration(route.ResponseHead, pool.Timeouts.ResponseHead),
                    Queue = Duration(route.Queue, pool.Timeouts.Queue),
                },
                RateLimiter = limiter,
                MaxBodyBytes = route.MaxBodyBytes?.Value ?? tenantMaxBody,
                Usage = state.RouteUsage(name),
            };
        }

        return (new RouteTable(routes), fallback);
    }

    private static RouteSnapshot? FindRoute(TenantSnapshot? tenant, string name)
    {
        foreach (var route in tenant?.Routes.Routes ?? [])
        {
            if (route.Name == name)
            {
                return route;
            }
        }

        return null;
    }

    private static RouteConditions CompileConditions(LbRouteSection route)
    {
        var exact = route.ExactPath is not null;
        var path = exact ? route.ExactPath!.Value : ConfigSyntax.NormalizePrefix(route.PathPrefix?.Value ?? "/");
        byte[][]? methods = route.Methods is { } list ? [.. list.Select(m => Encoding.ASCII.GetBytes(m!.Value))] : null;
        (byte[], byte[])[] headers = route.Headers is { } pairs
            ? [.. pairs.Select(p => (Encoding.ASCII.GetBytes(p.Name.Value), Encoding.Latin1.GetBytes(p.Value.Value)))]
            : [];
        return new RouteConditions(exact, path, methods, headers);
    }

    /// <summary><c>strip_prefix</c> removes its own bytes; <c>rewrite_prefix</c> replaces the route's whole path or prefix.</summary>
    private static PathRewrite CompileRewrite(LbRouteSection route, RouteConditions conditions)
    {
        if (route.StripPrefix is { } strip)
        {
            return new PathRewrite(ConfigSyntax.NormalizePrefix(strip.Value).Length, null);
        }

        if (route.RewritePrefix is { } rewrite)
        {
            var matched = conditions.Path == "/" ? 0 : conditions.Path.Length;
            var prefix = ConfigSyntax.NormalizePrefix(rewrite.Value);
            return new PathRewrite(matched, prefix == "/" ? null : Encoding.ASCII.GetBytes(prefix));
        }

        return PathRewrite.None;
    }

    /// <summary>
    /// The tenant's edits with the route's on top: a name the route sets or removes drops the tenant's set and added
    /// fields of that name; the route's added fields come after the tenant's. Null when nothing is edited.
    /// </summary>
    private static HeaderTransform? MergeTransforms(LbHeaderTransformSection? tenant, LbHeaderTransformSection? route)
    {
        if (tenant is null && route is null)
        {
            return null;
        }

        var set = new List<KeyValuePair<string, string>>();
        var add = new List<KeyValuePair<string, string>>();
        var remove = new List<string>();
        foreach (var layer in (ReadOnlySpan<LbHeaderTransformSection?>)[tenant, route])
        {
            if (layer is null)
            {
                continue;
            }

            foreach (var name in layer.Remove)
            {
                Drop(set, add, name!.Value);
                if (!remove.Contains(name.Value, StringComparer.OrdinalIgnoreCase))
                {
                    remove.Add(name.Value);
                }
            }

            foreach (var (name, value) in layer.Set)
            {
                Drop(set, add, name.Value);
                remove.RemoveAll(r => string.Equals(r, name.Value, StringComparison.OrdinalIgnoreCase));
                set.Add(new(name.Value, value.Value));
            }

            foreach (var (name, value) in layer.Add)
            {
                add.Add(new(name.Value, value.Value));
            }
        }

        return set.Count + add.Count + remove.Count == 0 ? null : HeaderTransform.Create(set, add, remove);

        static void Drop(List<KeyValuePair<string, string>> set, List<KeyValuePair<string, string>> add, string name)
        {
            set.RemoveAll(p => string.Equals(p.Key, name, StringComparison.OrdinalIgnoreCase));
            add.RemoveAll(p => string.Equals(p.Key, name, StringComparison.OrdinalIgnoreCase));
        }
    }
}
