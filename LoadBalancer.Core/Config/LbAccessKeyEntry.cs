namespace LoadBalancer.Core.Config;

/// <summary>One entry of a tenant's <c>access_keys</c> array: <c>{ id = "...", sha256 = "&lt;64 hex&gt;" }</c>.</summary>
internal sealed class LbAccessKeyEntry
{
    public required string Path { get; init; }

    public required SourcePosition Position { get; init; }

    public ConfigValue<string>? Id { get; set; }

    public ConfigValue<string>? Sha256 { get; set; }
}
