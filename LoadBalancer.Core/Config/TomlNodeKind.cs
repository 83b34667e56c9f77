namespace LoadBalancer.Core.Config;

/// <summary>The TOML value types, as far as the config loader cares to tell them apart.</summary>
internal enum TomlNodeKind
{
    Table,
    Array,
    String,
    Integer,
    Float,
    Boolean,
    DateTime,
}
