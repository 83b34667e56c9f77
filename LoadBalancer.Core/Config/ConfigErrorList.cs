namespace LoadBalancer.Core.Config;

/// <summary>Collects errors for one file, so that every stage reports all it finds instead of stopping at the first.</summary>
internal sealed class ConfigErrorList(string file)
{
    private readonly List<ConfigError> _errors = [];
    private readonly HashSet<string> _misspelled = new(StringComparer.Ordinal);

    public string File => file;

    public int Count => _errors.Count;

    public IReadOnlyList<ConfigError> Items => _errors;

    /// <summary>Things worth fixing that do not refuse the config (a certificate about to expire); <c>lb check</c> prints them.</summary>
    public List<ConfigError> Warnings { get; } = [];

    public void AddWarning(SourcePosition position, string path, string message) =>
        Warnings.Add(new ConfigError(file, position.Line, position.Column, path, message));

    public void Add(SourcePosition position, string path, string message) =>
        _errors.Add(new ConfigError(file, position.Line, position.Column, path, message));

    /// <summary>Records that an unknown key looked like a misspelling of <paramref name="path"/> (checked before required keys).</summary>
    public void AddMisspelling(string path) => _misspelled.Add(path);

    /// <summary>A missing required key, unless an unknown key in the same table was reported as its misspelling.</summary>
    public void AddRequired(SourcePosition position, string path, string message = "is required")
    {
        if (!_misspelled.Contains(path))
        {
            Add(position, path, message);
        }
    }
}
