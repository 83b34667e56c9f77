namespace LoadBalancer.Core.Admin;

/// <summary>An admin request: method, path (without query), query string, and the body (admin bodies are small and capped).</summary>
public sealed record AdminRequest(string Method, string Path, string Query, byte[] Body)
{
    /// <summary>Who sent it (the admin token's id and role); <see cref="Management.AdminCaller.Anonymous"/> when lb.toml has no token.</summary>
    public Management.AdminCaller Caller { get; init; } = Management.AdminCaller.Anonymous;

    /// <summary>The <c>If-Match</c> header as sent, or null.</summary>
    public string? IfMatch { get; init; }
}
