namespace LoadBalancer.Core.Config;

/// <summary><c>[admin]</c>.</summary>
internal sealed class LbAdminSection
{
    public required string Path { get; init; }

    public required SourcePosition Position { get; init; }

    public ConfigValue<string>? Listen { get; set; }

    /// <summary>Bearer token the admin endpoint requires; null means none.</summary>
    public ConfigValue<string>? Token { get; set; }

    /// <summary><c>[[admin.tokens]]</c>, hashed tokens with a role; null when absent.</summary>
    public List<LbAdminTokenEntry>? Tokens { get; set; }

    /// <summary><c>audit_log</c>: the file the management API appends one JSON line per write to; null means none.</summary>
    public ConfigValue<string>? AuditLog { get; set; }
}
