using LoadBalancer.Core.Routing;

namespace LoadBalancer.Core.Config;

/// <summary>The outcome of loading a config: either a compiled snapshot or every error found, never both.</summary>
public sealed class ConfigLoadResult
{
    private ConfigLoadResult(string path, RuntimeSnapshot? snapshot, IReadOnlyList<ConfigError> errors, IReadOnlyList<ConfigError>? warnings = null)
    {
        Path = path;
        Snapshot = snapshot;
        Errors = errors;
        Warnings = warnings ?? [];
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

    internal static ConfigLoadResult Failed(string path, IReadOnlyList<ConfigError> errors) => new(path, null, errors);

    private static string Count(int n, string noun) => n == 1 ? $"1 {noun}" : $"{n} {noun}s";
}
