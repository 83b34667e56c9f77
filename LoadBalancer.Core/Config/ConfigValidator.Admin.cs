namespace LoadBalancer.Core.Config;

/// <summary><c>[[admin.tokens]]</c>: unique ids, a SHA-256 (never the secret itself) and a known role.</summary>
internal static partial class ConfigValidator
{
    private static void ValidateAdminTokens(LbAdminSection? admin, ConfigErrorList errors)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        if (admin?.Token is not null)
        {
            ids.Add(Management.AdminCredential.LegacyTokenId);
        }

        if (admin?.AuditLog is { Value.Length: 0 } auditLog)
        {
            errors.Add(auditLog.Position, "admin.audit_log", "must be a file path (relative to this file's directory), not empty");
        }

        foreach (var token in admin?.Tokens ?? [])
        {
            if (token.Id is { } id)
            {
                if (id.Value.Length == 0 || id.Value.Length > 64 || id.Value.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
                {
                    errors.Add(id.Position, TomlConfigLoader.Join(token.Path, "id"), "must be 1..64 letters, digits, '-', '_' or '.'");
                }
                else if (!ids.Add(id.Value))
                {
                    var reason = id.Value == Management.AdminCredential.LegacyTokenId && admin!.Token is not null
                        ? "is the id of [admin] token; pick another"
                        : "is already used by another admin token";
                    errors.Add(id.Position, TomlConfigLoader.Join(token.Path, "id"), $"\"{id.Value}\" {reason}");
                }
            }

            if (token.Sha256 is { } sha && !TryParseSha256(sha.Value, out _))
            {
                errors.Add(sha.Position, TomlConfigLoader.Join(token.Path, "sha256"), "must be 64 hex characters: the SHA-256 of the token (`printf %s \"$TOKEN\" | sha256sum`, or `lb key new`)");
            }

            if (token.Role is { } role && role.Value is not ("read" or "write"))
            {
                errors.Add(role.Position, TomlConfigLoader.Join(token.Path, "role"), "must be \"read\" (GET only) or \"write\"");
            }
        }
    }
}
