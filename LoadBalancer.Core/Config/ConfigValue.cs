namespace LoadBalancer.Core.Config;

/// <summary>A value read from lb.toml with the position of the value, so later stages can point at it.</summary>
internal sealed record ConfigValue<T>(T Value, SourcePosition Position);
