namespace LoadBalancer.Core.Config;

/// <summary>One <c>[[admin.tokens]]</c>: <c>{ id = "...", sha256 = "&lt;64 hex&gt;", role = "read" | "write" }</c>.</summary>
internal sealed class LbAdminTokenEntry
{
    public required string Path { get; init; }

    public required SourcePosition Position { get; init; }

    public ConfigValue<string>? Id { get; set; }

    public ConfigValue<string>? Sha256 { get; set; }

    public ConfigValue<string>? Role { get; set; }
}
