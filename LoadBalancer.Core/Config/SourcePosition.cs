using Tomlyn.Syntax;

namespace LoadBalancer.Core.Config;

/// <summary>A 1-based line and column in the config file.</summary>
internal readonly record struct SourcePosition(int Line, int Column)
{
    public static readonly SourcePosition Start = new(1, 1);

    /// <summary>Tomlyn positions are 0-based; editors and <see cref="ConfigError"/> are 1-based.</summary>
    public static SourcePosition From(TextPosition position) => new(position.Line + 1, position.Column + 1);
}
