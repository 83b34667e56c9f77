using LoadBalancer.Core.Routing;

namespace LoadBalancer.Core.Config;

/// <summary>The outcome of loading a config: either a compiled snapshot or every error found, never both.</summary>
public sealed class ConfigLoadResult
{
    // Counted from the file rather than the snapshot: a check compiles only the DNS-named pools (ConfigLoader.CheckFile).
    private readonly (int Listeners, int Tenants, int Pools, int Backends)? _counts;

    private ConfigLoadResult(string path, RuntimeSnapshot? snapshot, IReadOnlyList<ConfigError> errors, IReadOnlyList<ConfigError>? warnings = null, (int, int, int, int)? counts = null)
    {
        Path = path;
        Snapshot = snapshot;
        Errors = errors;
        Warnings = warnings ?? [];
        _counts = counts;
    }

    /// <summary>The config file path as given to the loader.</summary>
    public string Path { get; }

    /// <summary>The compiled snapshot, or null when <see cref="Errors"/> is not empty.</summary>
    public RuntimeSnapshot? Snapshot { get; }

    /// <summary>Every error found, in file order within each validation pass.</summary>
    public IReadOnlyList<ConfigError> Errors { get; }

    /// <summary>What does not refuse the config but wants fixing (a certificate expiring within 14 days, a host no certificate covers).</summary>
    public IReadOnlyList<ConfigError> Warnings { get; }

    /// <summary>True when the config compiled and <see cref="Snapshot"/> can be published.</summary>
    public bool Success => Snapshot is not null;

    /// <summary>One line for <c>lb check</c> and reload logs, e.g. <c>lb.toml: OK: 1 listener, 2 tenants, 2 pools, 4 backends</c>.</summary>
    public string Summary
    {
        get
        {
            if (Snapshot is null)
            {
                return $"{Path}: refused: {Count(Errors.Count, "error")}";
            }

            if (_counts is var (listeners, tenants, pools, entries))
            {
                return $"{Path}: OK: {Count(listeners, "listener")}, {Count(tenants, "tenant")}, {Count(pools, "pool")}, {Count(entries, "backend")}";
            }

            var backends = 0;
            foreach (var pool in Snapshot.Pools.Values)
            {
                backends += pool.LiteralBackends.Length + pool.DnsTargets.Length; // a name counts once, whatever it resolves to
            }

            return $"{Path}: OK: {Count(Snapshot.Listeners.Count, "listener")}, {Count(Snapshot.Tenants.Count, "tenant")}, "
                + $"{Count(Snapshot.Pools.Count, "pool")}, {Count(backends, "backend")}";
        }
    }

    internal static ConfigLoadResult Succeeded(string path, RuntimeSnapshot snapshot, IReadOnlyList<ConfigError>? warnings = null) => new(path, snapshot, [], warnings);

    /// <summary>A check's result: <paramref name="snapshot"/> holds only what the check looks up (DNS-named pools).</summary>
    internal static ConfigLoadResult Checked(string path, RuntimeSnapshot snapshot, (int, int, int, int) counts, IReadOnlyList<ConfigError>? warnings)
        => new(path, snapshot, [], warnings, counts);

    internal static (int Listeners, int Tenants, int Pools, int Backends) CountsOf(LbConfigFile file)
    {
        var backends = 0;
        foreach (var pool in file.Pools)
        {
            backends += pool.Backends?.Count ?? 0; // a name counts once, whatever it resolves to
        }

        return (file.Listeners.Count, file.Tenants.Count, file.Pools.Count, backends);
    }

    internal static ConfigLoadResult Failed(string path, IReadOnlyList<ConfigError> errors) => new(path, null, errors);

    private static string Count(int n, string noun) => n == 1 ? $"1 {noun}" : $"{n} {noun}s";
}
