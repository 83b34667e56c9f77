namespace LoadBalancer.Core.Config;

/// <summary>A key of a table with the position of the key itself (where "unknown key" errors point).</summary>
internal sealed record TomlEntry(string Key, SourcePosition KeyPosition, TomlNode Value);
