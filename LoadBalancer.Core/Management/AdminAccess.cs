using System.Security.Cryptography;
using LoadBalancer.Core.Admin;

namespace LoadBalancer.Core.Management;

/// <summary>
/// Who may do what on the admin listener. With no token configured every request is <see cref="AdminCaller.Anonymous"/>
/// (the existing endpoints stay open, as before) but lb.toml cannot be changed through <c>/api/config</c>: an API that
/// rewrites the config must know who did it. With tokens, a request needs <c>Authorization: Bearer</c> with one of them;
/// a <c>read</c> token may only GET.
/// </summary>
public static class AdminAccess
{
    /// <summary>The path prefix of the config-editing API.</summary>
    public const string ConfigPrefix = "/api/config";

    /// <summary>
    /// The caller the bearer token (the bytes after <c>Bearer </c>, or empty) names, or null when tokens are configured
    /// and it matches none. Every credential is compared in constant time, and all of them are, so timing tells nothing.
    /// </summary>
    public static AdminCaller? Authenticate(ReadOnlySpan<byte> bearer, IReadOnlyList<AdminCredential> credentials)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        if (credentials.Count == 0)
        {
            return AdminCaller.Anonymous;
        }

        if (bearer.IsEmpty)
        {
            return null;
        }

        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(bearer, hash);
        AdminCredential? match = null;
        foreach (var credential in credentials)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, credential.Sha256))
            {
                match ??= credential;
            }
        }

        return match is null ? null : new AdminCaller(match.Id, match.Role);
    }

    /// <summary>The refusal for a caller that may not make this request, or null when it may.</summary>
    public static AdminResponse? Refusal(AdminCaller caller, string method, string path)
    {
        ArgumentNullException.ThrowIfNull(caller);
        if (method == "GET")
        {
            return null;
        }

        if (caller.Role == AdminRole.Read)
        {
            return ManagementJson.Error(403, $"admin token \"{caller.TokenId}\" has role \"read\": it may only GET; {method} needs a token with role = \"write\"");
        }

        if (!caller.IsIdentified && IsConfigPath(path))
        {
            return ManagementJson.Error(403, NoTokenMessage);
        }

        return null;
    }

    /// <summary>Said with every refused config write when lb.toml has no admin token.</summary>
    public const string NoTokenMessage =
        "changing lb.toml through the admin API needs an admin token with role \"write\", and none is configured. "
        + "Make a token (e.g. TOKEN=$(openssl rand -hex 32)), compute its SHA-256 (printf %s \"$TOKEN\" | sha256sum), "
        + "add to lb.toml: [[admin.tokens]] id = \"ops\", sha256 = \"<the 64 hex digits>\", role = \"write\", "
        + "reload (no restart needed), and send Authorization: Bearer $TOKEN.";

    public static bool IsConfigPath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return path.StartsWith(ConfigPrefix, StringComparison.Ordinal) && (path.Length == ConfigPrefix.Length || path[ConfigPrefix.Length] == '/');
    }
}
