using LoadBalancer.Core.Management;

namespace LoadBalancer.Core.Config;

/// <summary>The admin tokens: <c>[admin] token</c> (hashed here, so the snapshot holds no secret) and <c>[[admin.tokens]]</c>.</summary>
internal static partial class SnapshotCompiler
{
    /// <summary>Every <c>access_keys_file</c> and consumer <c>keys_file</c>, resolved as the validator read them.</summary>
    private static string[] KeyFiles(LbConfigFile file, string sourcePath)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(sourcePath)) ?? ".";
        var files = new List<string>();
        foreach (var tenant in file.Tenants)
        {
            if (tenant.AccessKeysFile is { } keys)
            {
                files.Add(Path.Combine(directory, keys.Value));
            }
        }

        foreach (var consumer in file.Consumers)
        {
            if (consumer.KeysFile is { } keys)
            {
                files.Add(Path.Combine(directory, keys.Value));
            }
        }

        return [.. files];
    }

    private static AdminCredential[] CompileAdminCredentials(LbAdminSection? admin)
    {
        var credentials = new List<AdminCredential>();
        if (admin?.Token is { } token)
        {
            credentials.Add(new AdminCredential(AdminCredential.LegacyTokenId, System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(token.Value)), AdminRole.Write));
        }

        foreach (var entry in admin?.Tokens ?? [])
        {
            ConfigValidator.TryParseSha256(entry.Sha256!.Value, out var hash);
            credentials.Add(new AdminCredential(entry.Id!.Value, hash, entry.Role!.Value == "read" ? AdminRole.Read : AdminRole.Write));
        }

        return [.. credentials];
    }
}
