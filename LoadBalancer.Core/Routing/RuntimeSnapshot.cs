using System.Collections.Frozen;
using System.Net;

namespace LoadBalancer.Core.Routing;

/// <summary>
/// Everything the data path needs, compiled from one lb.toml and never mutated afterwards (live counters live in
/// <see cref="BackendState"/>). A connection reads the current snapshot once per request and keeps it for that request.
/// </summary>
public sealed class RuntimeSnapshot
{
    public required IReadOnlyList<ListenerSnapshot> Listeners { get; init; }

    public required FrozenDictionary<string, TenantSnapshot> Tenants { get; init; }

    public required FrozenDictionary<string, PoolSnapshot> Pools { get; init; }

    /// <summary>Backends whose weight or endpoint this snapshot changed in their live state, with the value before.</summary>
    internal IReadOnlyList<(BackendState State, Backend Previous)> ReplacedBackendConfigs { get; init; } = [];

    /// <summary>Undoes the live-state changes of a snapshot that was compiled but never published (a rejected reload).</summary>
    internal void RevertReplacedBackendConfigs()
    {
        foreach (var (state, previous) in ReplacedBackendConfigs)
        {
            state.Config = previous;
        }
    }

    /// <summary>The admin listener's endpoint, or null when <c>[admin]</c> is absent.</summary>
    public IPEndPoint? AdminEndPoint { get; init; }

    /// <summary>The bearer token the admin endpoint requires (<c>[admin] token</c>), or null.</summary>
    public string? AdminToken { get; init; }

    /// <summary>
    /// Every admin token (<c>[admin] token</c> and <c>[[admin.tokens]]</c>) by SHA-256 and role; empty when none is
    /// configured. Read per admin request, so a reload changes who may do what without a restart.
    /// </summary>
    public IReadOnlyList<Management.AdminCredential> AdminCredentials { get; init; } = [];

    /// <summary><c>[admin] audit_log</c>, resolved against lb.toml's directory; null when not set.</summary>
    public string? AdminAuditLog { get; init; }

    /// <summary>Where access-log lines go (<c>[access_log]</c>), or null when disabled; reused across reloads while unchanged.</summary>
    public Metrics.AccessLogWriter? AccessLog { get; init; }

    /// <summary>What <see cref="DrainTimeout"/> is when lb.toml does not set <c>[server] drain_timeout</c>.</summary>
    public static readonly TimeSpan DefaultDrainTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// <c>[server] drain_timeout</c>: on stop, how long in-flight requests and tunnels may run before they are cut.
    /// Read when the stop begins, so a reload can change it.
    /// </summary>
    public TimeSpan DrainTimeout { get; init; } = DefaultDrainTimeout;

    /// <summary>
    /// Every file the listeners' and pools' TLS was loaded from (certificates, keys, CAs), resolved: a reload whose lb.toml
    /// is unchanged still applies when one of them changed, and the file watcher watches them.
    /// </summary>
    /// <summary>The tenants' <c>access_keys_file</c>s and consumers' <c>keys_file</c>s, resolved.</summary>
    public IReadOnlyList<string> KeyFiles { get; init; } = [];

    /// <summary>
    /// Every file besides lb.toml the snapshot was loaded from (<see cref="TlsFiles"/> and <see cref="KeyFiles"/>): a
    /// reload applies when one of them changed even if lb.toml did not, and the file watcher watches them.
    /// </summary>
    public IReadOnlyList<string> ReloadFiles() => [.. TlsFiles(), .. KeyFiles];

    public IReadOnlyList<string> TlsFiles()
    {
        var files = new List<string>();
        foreach (var listener in Listeners)
        {
            if (listener.Tls is not { } tls)
            {
                continue;
            }

            foreach (var certificate in tls.Certificates)
            {
                files.Add(certificate.CertFile);
                files.Add(certificate.KeyFile);
            }

            if (tls.ClientAuth is { } clientAuth)
            {
                files.Add(clientAuth.File);
            }
        }

        foreach (var pool in Pools.Values)
        {
            if (pool.Tls is { } backendTls)
            {
                if (backendTls.CaFile is { } ca)
                {
                    files.Add(ca);
                }

                if (backendTls.ClientCertificate is { } client)
                {
                    files.Add(client.CertFile);
                    files.Add(client.KeyFile);
                }
            }
        }

        return files;
    }

    /// <summary><c>[cluster]</c>, or null when absent (no instance id on usage, rate limits per instance).</summary>
    public Cluster.ClusterSettings? Cluster { get; init; }

    /// <summary><c>[dns]</c>: how the pools' backend names are resolved (defaults when absent).</summary>
    public Dns.DnsSettings Dns { get; init; } = Core.Dns.DnsSettings.Default;

    /// <summary><c>[usage]</c>: the ledger's settings (read at start), or null without a ledger.</summary>
    public Usage.UsageLedgerSettings? Usage { get; init; }

    /// <summary>The file the snapshot was compiled from, for messages.</summary>
    public string SourcePath { get; init; } = "";

    /// <summary>Of everything but the tenants and pools; a reload with the same one may reuse unchanged tenants and pools.</summary>
    internal UInt128 GlobalFingerprint { get; init; }

    /// <summary>The balancers the pools were built with: a reload with another registry compiles every pool.</summary>
    internal Balancing.BalancerRegistry? Registry { get; init; }

    /// <summary>What the load read of each tenant and pool element, for the next reload to reuse (null: nothing to reuse).</summary>
    internal Config.ParsedTables? ParsedTables { get; set; }
}
