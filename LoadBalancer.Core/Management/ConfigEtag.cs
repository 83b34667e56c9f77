using System.Security.Cryptography;

namespace LoadBalancer.Core.Management;

/// <summary>
/// The management API's entity tag: the quoted lower-case hex SHA-256 of lb.toml's bytes, so any change to the file
/// (by the API, an editor or git) changes it, and the same bytes always give the same tag.
/// </summary>
public static class ConfigEtag
{
    public static string Of(ReadOnlySpan<byte> bytes) => "\"" + Convert.ToHexStringLower(SHA256.HashData(bytes)) + "\"";

    /// <summary>
    /// Whether an <c>If-Match</c> value (RFC 9110 section 13.1.1: <c>*</c> or a list of entity tags) accepts
    /// <paramref name="etag"/>. A weak tag never matches: If-Match uses the strong comparison.
    /// </summary>
    public static bool Matches(string ifMatch, string etag)
    {
        ArgumentNullException.ThrowIfNull(ifMatch);
        foreach (var part in ifMatch.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == "*" || part == etag)
            {
                return true;
            }
        }

        return false;
    }
}
