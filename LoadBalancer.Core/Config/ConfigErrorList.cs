namespace LoadBalancer.Core.Config;

/// <summary>Collects errors for one file, so that every stage reports all it finds instead of stopping at the first.</summary>
internal sealed class ConfigErrorList(string file)
{
    private readonly List<ConfigError> _errors = [];

    public string File => file;

    public int Count => _errors.Count;

    public IReadOnlyList<ConfigError> Items => _errors;

    public void Add(SourcePosition position, string path, string message) =>
        _errors.Add(new ConfigError(file, position.Line, position.Column, path, message));
}
