namespace LoadBalancer.Core.Config;

/// <summary>One reason a config file was refused, pointing at the offending key or value.</summary>
/// <param name="File">The config file path as it was given to the loader.</param>
/// <param name="Line">1-based line.</param>
/// <param name="Column">1-based column.</param>
/// <param name="Path">Where in the config, e.g. <c>pools[1].backends[0].weight</c> (array indexes are 0-based); empty for syntax and file errors.</param>
/// <param name="Message">What is wrong, phrased so that it reads after the path.</param>
public sealed record ConfigError(string File, int Line, int Column, string Path, string Message)
{
    /// <summary>Formats as <c>lb.toml:14:5: pools[1].backends[2].weight: must be 1..1000</c>, the shape editors and CI logs link to.</summary>
    public override string ToString() =>
        Path.Length == 0 ? $"{File}:{Line}:{Column}: {Message}" : $"{File}:{Line}:{Column}: {Path}: {Message}";
}
