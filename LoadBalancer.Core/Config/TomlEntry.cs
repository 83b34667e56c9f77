namespace LoadBalancer.Core.Config;

/// <summary>A key of a table with the position of the key itself (where "unknown key" errors point).</summary>
/// <remarks>A struct, stored inline in its table's list: a 10,000-tenant file has ~130,000 of them (issue 20).</remarks>
internal readonly record struct TomlEntry(string Key, SourcePosition KeyPosition, TomlNode Value);
