namespace LoadBalancer.Core.Management;

/// <summary>
/// Every request the admin listener answers, as (method, path template). The host answers 404 for a path no
/// template matches before any handler sees it, so nothing outside this table is served; the OpenAPI document
/// (<see cref="OpenApiDocument"/>) must list exactly these, and a test checks both ways and that each one is answered.
/// </summary>
public static class AdminRoutes
{
    public static readonly (string Method, string Template)[] All =
    [
        ("GET", "/"),
        ("GET", "/dashboard"),
        ("GET", "/dashboard.js"),
        ("GET", "/dashboard.css"),
        ("GET", "/healthz"),
        ("POST", "/reload"),
        ("GET", "/metrics"),
        ("GET", "/api/openapi.json"),
        ("GET", "/api/tenants"),
        ("GET", "/api/usage"),
        ("GET", "/api/pools"),
        ("POST", "/api/pools/{pool}/backends/{address}/drain"),
        ("POST", "/api/pools/{pool}/backends/{address}/enable"),
        ("GET", "/api/dashboard"),
        ("GET", "/api/dashboard/pools"),
        ("GET", "/api/dashboard/tenants/{name}"),
        ("GET", "/api/config"),
        ("GET", "/api/config/tenants"),
        ("GET", "/api/config/pools"),
        ("GET", "/api/config/consumers"),
        ("GET", "/api/config/tenants/{name}"),
        ("PUT", "/api/config/tenants/{name}"),
        ("PATCH", "/api/config/tenants/{name}"),
        ("DELETE", "/api/config/tenants/{name}"),
        ("GET", "/api/config/pools/{name}"),
        ("PUT", "/api/config/pools/{name}"),
        ("PATCH", "/api/config/pools/{name}"),
        ("DELETE", "/api/config/pools/{name}"),
        ("GET", "/api/config/consumers/{name}"),
        ("PUT", "/api/config/consumers/{name}"),
        ("PATCH", "/api/config/consumers/{name}"),
        ("DELETE", "/api/config/consumers/{name}"),
        ("GET", "/api/config/consumers/{name}/keys"),
        ("POST", "/api/config/consumers/{name}/keys"),
        ("GET", "/api/config/consumers/{name}/keys/{id}"),
        ("POST", "/api/config/consumers/{name}/keys/{id}/approve"),
        ("POST", "/api/config/consumers/{name}/keys/{id}/revoke"),
    ];

    /// <summary>
    /// Whether some template matches the path (whatever the method: a known path with another method gets its
    /// handler's 405). A trailing slash is ignored; <c>{x}</c> matches one non-empty segment.
    /// </summary>
    public static bool IsKnownPath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length > 1 && path.EndsWith('/'))
        {
            path = path[..^1];
        }

        foreach (var (_, template) in All)
        {
            if (Matches(template, path))
            {
                return true;
            }
        }

        return false;
    }

    public static bool Matches(string template, string path)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(path);
        var want = template.Split('/');
        var have = path.Split('/');
        if (want.Length != have.Length)
        {
            return false;
        }

        for (var i = 0; i < want.Length; i++)
        {
            var isParameter = want[i].StartsWith('{') && want[i].EndsWith('}');
            if (isParameter ? have[i].Length == 0 : want[i] != have[i])
            {
                return false;
            }
        }

        return true;
    }
}
