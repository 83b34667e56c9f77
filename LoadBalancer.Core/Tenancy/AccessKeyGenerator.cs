using System.Security.Cryptography;
using System.Text;

namespace LoadBalancer.Core.Tenancy;

/// <summary>Fresh access keys for <c>lb key new</c>: 32 random bytes, base64url, with an <c>lbk_</c> prefix that secret scanners can match.</summary>
public static class AccessKeyGenerator
{
    public const string Prefix = "lbk_";

    public static string NewKey()
        => Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>The lowercase hex SHA-256 of the key as presented in the header: what lb.toml stores.</summary>
    public static string Sha256Hex(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    public static string NewId() => "key-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
}
