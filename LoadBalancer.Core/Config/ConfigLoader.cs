using LoadBalancer.Core.Balancing;
using LoadBalancer.Core.Routing;

namespace LoadBalancer.Core.Config;

/// <summary>
/// Turns lb.toml into an immutable <see cref="RuntimeSnapshot"/>, or into every error found in it. Never throws for a
/// bad or missing file: startup and reload both need the full list of errors to log.
/// </summary>
public static class ConfigLoader
{
    /// <summary>Reads and loads a config file; an unreadable file is reported as an error at 1:1.</summary>
    /// <param name="path">The file; also used as <see cref="ConfigError.File"/> and <see cref="RuntimeSnapshot.SourcePath"/>.</param>
    /// <param name="previous">The snapshot being replaced, whose backend states are carried over by pool name and address.</param>
    /// <param name="registry">The balancers to accept; <see cref="BalancerRegistry.Default"/> when null.</param>
    public static ConfigLoadResult LoadFile(string path, RuntimeSnapshot? previous = null, BalancerRegistry? registry = null)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return ConfigLoadResult.Failed(path, [new ConfigError(path, 1, 1, "", $"cannot read config file: {e.Message}")]);
        }

        return LoadText(text, path, previous, registry);
    }

    /// <summary>
    /// What <c>lb check</c> needs of a file: every error and warning, the summary's counts, and a snapshot holding only
    /// the pools that name backends by DNS (for the check's lookups). Tenants and listeners are validated, not
    /// compiled: at 10,000 tenants that is 44 MB and a third of the check's CPU saved (issue 20).
    /// </summary>
    public static ConfigLoadResult CheckFile(string path, BalancerRegistry? registry = null)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return ConfigLoadResult.Failed(path, [new ConfigError(path, 1, 1, "", $"cannot read config file: {e.Message}")]);
        }

        registry ??= BalancerRegistry.Default;
        if (TomlConfigLoader.TryLoadFast(text, path) is { } quick)
        {
            var found = new ConfigErrorList(path);
            ConfigValidator.Validate(quick, registry, found);
            if (found.Count == 0)
            {
                return ConfigLoadResult.Checked(path, SnapshotCompiler.CompileForCheck(quick, path, registry), ConfigLoadResult.CountsOf(quick), found.Warnings);
            }
        }

        var errors = new ConfigErrorList(path);
        var file = TomlConfigLoader.Load(text, errors);
        if (file is not null)
        {
            ConfigValidator.Validate(file, registry, errors);
        }

        return file is null || errors.Count > 0
            ? ConfigLoadResult.Failed(path, [.. errors.Items.OrderBy(e => e.Line).ThenBy(e => e.Column)])
            : ConfigLoadResult.Checked(path, SnapshotCompiler.CompileForCheck(file, path, registry), ConfigLoadResult.CountsOf(file), errors.Warnings);
    }

    /// <summary>
    /// An error found after loading (a listen address in use), positioned at the value of <paramref name="configPath"/>
    /// (e.g. <c>listeners[0].listen</c>) in <paramref name="text"/>; at 1:1 when the text does not have it.
    /// </summary>
    public static ConfigError ErrorAt(string text, string file, string configPath, string message)
    {
        var position = TomlConfigLoader.Find(text, configPath) ?? SourcePosition.Start;
        return new ConfigError(file, position.Line, position.Column, configPath, message);
    }

    /// <summary>Loads config text; <paramref name="path"/> only names it in errors and in the snapshot.</summary>
    public static ConfigLoadResult LoadText(string text, string path, RuntimeSnapshot? previous = null, BalancerRegistry? registry = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(path);
        registry ??= BalancerRegistry.Default;

        // A valid file (what every start and reload should be) is read once, by the fast event parser. Any error found
        // on that path sends the text down the syntax-tree path, which finds and positions every error as before.
        // Elements of [[tenants]] and [[pools]] the live snapshot's load read, unchanged, are taken as they are.
        if (TomlConfigLoader.TryLoadFast(text, path, previous?.ParsedTables, out var parsed) is { } quick)
        {
            var found = new ConfigErrorList(path);
            ConfigValidator.Validate(quick, registry, found);
            if (found.Count == 0)
            {
                var snapshot = SnapshotCompiler.Compile(quick, path, previous, registry);
                snapshot.ParsedTables = parsed;
                return ConfigLoadResult.Succeeded(path, snapshot, found.Warnings);
            }
        }

        return LoadThroughSyntaxTree(text, path, previous, registry);
    }

    /// <summary>
    /// Every error a reload of <paramref name="text"/> would report, without compiling a snapshot (which would reuse or
    /// open live state): what the management API checks an edit with before it rewrites lb.toml. Empty when valid.
    /// </summary>
    public static IReadOnlyList<ConfigError> Check(string text, string path, BalancerRegistry? registry = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(path);
        registry ??= BalancerRegistry.Default;
        if (TomlConfigLoader.TryLoadFast(text, path) is { } quick)
        {
            var found = new ConfigErrorList(path);
            ConfigValidator.Validate(quick, registry, found);
            if (found.Count == 0)
            {
                return [];
            }
        }

        var errors = new ConfigErrorList(path);
        if (TomlConfigLoader.Load(text, errors) is { } file)
        {
            ConfigValidator.Validate(file, registry, errors);
        }

        return [.. errors.Items.OrderBy(e => e.Line).ThenBy(e => e.Column)];
    }

    /// <summary>The path every text took before the fast one, and still takes when that one finds anything wrong; tests compare the two.</summary>
    internal static ConfigLoadResult LoadThroughSyntaxTree(string text, string path, RuntimeSnapshot? previous, BalancerRegistry registry)
    {
        var errors = new ConfigErrorList(path);
        var file = TomlConfigLoader.Load(text, errors);
        if (file is not null)
        {
            ConfigValidator.Validate(file, registry, errors);
        }

        if (file is null || errors.Count > 0)
        {
            // Stages find errors in their own order; file order is what a reader fixing them top-down wants.
            return ConfigLoadResult.Failed(path, [.. errors.Items.OrderBy(e => e.Line).ThenBy(e => e.Column)]);
        }

        return ConfigLoadResult.Succeeded(path, SnapshotCompiler.Compile(file, path, previous, registry), errors.Warnings);
    }
}
