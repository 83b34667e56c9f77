using LoadBalancer.Core.Management;
using static LoadBalancer.Tests.Unit.Config.ConfigTestHelpers;

namespace LoadBalancer.Tests.Unit.Config;

/// <summary><c>[[admin.tokens]]</c>: compiled hashed with their roles next to <c>[admin] token</c>; one refused snippet per rule.</summary>
[TestFixture]
public sealed class AdminTokensConfigTests
{
    private const string Sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    // [admin] is lines 1-2 (plus the extra lines from line 3), so positions in the extra are easy to read.
    private static string Toml(string adminExtra) =>
        $"[admin]\nlisten = \"127.0.0.1:0\"\n{adminExtra}\n[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\n";

    [Test]
    public void LoadText_TokensAndLegacyToken_CompileHashedWithRoles()
    {
        var result = Load(Toml($"token = \"0123456789abcdef\"\n[[admin.tokens]]\nid = \"ci\"\nsha256 = \"{Sha}\"\nrole = \"read\"\n[[admin.tokens]]\nid = \"ops\"\nsha256 = \"{Sha.ToUpperInvariant()}\"\nrole = \"write\""));

        Assert.That(result.Success, Is.True, () => string.Join("\n", result.Errors));
        var credentials = result.Snapshot!.AdminCredentials;
        Assert.That(credentials.Select(c => (c.Id, c.Role)), Is.EqualTo(new[] { ("token", AdminRole.Write), ("ci", AdminRole.Read), ("ops", AdminRole.Write) }));
        Assert.That(Convert.ToHexStringLower(credentials[1].Sha256), Is.EqualTo(Sha));
        Assert.That(Convert.ToHexStringLower(credentials[0].Sha256), Is.EqualTo(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("0123456789abcdef"u8))));
    }

    [Test]
    public void LoadText_InlineTokensArray_ReadsTheSame()
    {
        var result = Load(Toml($"tokens = [ {{ id = \"ci\", sha256 = \"{Sha}\", role = \"read\" }} ]"));

        Assert.That(result.Snapshot!.AdminCredentials.Single().Id, Is.EqualTo("ci"));
    }

    [Test]
    public void LoadText_NoTokens_NoCredentials()
        => Assert.That(Load(Toml("")).Snapshot!.AdminCredentials, Is.Empty);

    [Test]
    public void LoadText_TokenBadSha_IsRefused()
        => SingleError(Toml("[[admin.tokens]]\nid = \"ci\"\nsha256 = \"abc\"\nrole = \"read\""), "admin.tokens[0].sha256", 5, 10, "64 hex characters");

    [Test]
    public void LoadText_TokenBadRole_IsRefused()
        => SingleError(Toml($"[[admin.tokens]]\nid = \"ci\"\nsha256 = \"{Sha}\"\nrole = \"admin\""), "admin.tokens[0].role", 6, 8, "\"read\" (GET only) or \"write\"");

    [Test]
    public void LoadText_TokenWithoutRole_IsRefused()
        => SingleError(Toml($"[[admin.tokens]]\nid = \"ci\"\nsha256 = \"{Sha}\""), "admin.tokens[0].role", 3, 9, "is required");

    [Test]
    public void LoadText_DuplicateTokenId_IsRefused()
        => SingleError(Toml($"[[admin.tokens]]\nid = \"ci\"\nsha256 = \"{Sha}\"\nrole = \"read\"\n[[admin.tokens]]\nid = \"ci\"\nsha256 = \"{Sha}\"\nrole = \"write\""), "admin.tokens[1].id", 8, 6, "already used");

    [Test]
    public void LoadText_TokenIdOfLegacyToken_IsRefused()
        => SingleError(Toml($"token = \"0123456789abcdef\"\n[[admin.tokens]]\nid = \"token\"\nsha256 = \"{Sha}\"\nrole = \"read\""), "admin.tokens[0].id", 5, 6, "[admin] token");

    [Test]
    public void LoadText_TokenUnknownKey_IsRefused()
        => SingleError(Toml($"[[admin.tokens]]\nid = \"ci\"\nsha256 = \"{Sha}\"\nrole = \"read\"\nsecret = \"x\""), "admin.tokens[0].secret", 7, 1, "unknown key");
}
