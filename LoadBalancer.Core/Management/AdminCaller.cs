namespace LoadBalancer.Core.Management;

/// <summary>
/// Who sent an admin request: the token's id and role, or <see cref="Anonymous"/> when lb.toml configures no admin
/// token at all (then every existing endpoint stays open as before, but lb.toml cannot be edited through the API).
/// </summary>
public sealed record AdminCaller(string? TokenId, AdminRole Role)
{
    public static readonly AdminCaller Anonymous = new(null, AdminRole.Write);

    /// <summary>False for <see cref="Anonymous"/>: no token is configured, so nobody is identified.</summary>
    public bool IsIdentified => TokenId is not null;
}
