namespace LoadBalancer.Core.Config;

/// <summary><c>request_headers</c> / <c>response_headers = { set = { .. }, add = { .. }, remove = [ .. ] }</c> of a tenant or route.</summary>
internal sealed class LbHeaderTransformSection
{
    public required string Path { get; init; }

    public required SourcePosition Position { get; init; }

    public List<(ConfigValue<string> Name, ConfigValue<string> Value)> Set { get; } = [];

    public List<(ConfigValue<string> Name, ConfigValue<string> Value)> Add { get; } = [];

    /// <summary>Elements that are not strings are null (and reported).</summary>
    public List<ConfigValue<string>?> Remove { get; } = [];
}
