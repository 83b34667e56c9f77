using LoadBalancer.Core.Balancing;

namespace LoadBalancer.Core.Routing;

/// <summary>
/// A pool as compiled into one snapshot: immutable once published. What requests change lives in <see cref="State"/>
/// and in each <see cref="BackendState"/>, both carried across reloads.
/// </summary>
public sealed partial class PoolSnapshot
{
    private BackendState[] _backends = [];
    private IBalancer _balancer = null!;

    public required string Name { get; init; }

    /// <summary>The <c>[[pools]]</c> table's fingerprint (Config/TableFingerprint.cs): equal in a reload, this object may be reused.</summary>
    internal UInt128 SourceFingerprint { get; init; }

    /// <summary>
    /// The backends requests may go to: the IP literals, then every address the pool's names resolved to. Fixed per
    /// snapshot for a pool without names; the DNS resolver replaces it (with <see cref="Balancer"/>) when an answer
    /// changes, so a pick reads one reference and takes no lock.
    /// </summary>
    public required BackendState[] Backends
    {
        get => Volatile.Read(ref _backends);
        init => _backends = value;
    }

    /// <summary>The balancer over <see cref="Backends"/>, replaced with it.</summary>
    public required IBalancer Balancer
    {
        get => Volatile.Read(ref _balancer);
        init => _balancer = value;
    }

    /// <summary>The backends written as IP literals (<see cref="Backends"/> without the resolved ones).</summary>
    internal BackendState[] LiteralBackends { get; init; } = [];

    /// <summary>The backends written as names, in file order; empty for most pools.</summary>
    public Dns.DnsTarget[] DnsTargets { get; init; } = [];

    /// <summary>What builds <see cref="Balancer"/>, kept for the resolver's rebuilds.</summary>
    internal IBalancerFactory? BalancerFactory { get; init; }

    /// <summary>
    /// The resolver's swap: backends first, then the balancer built over them. A reader that sees the new array with
    /// the old balancer for a moment is harmless: the array only sizes retries and feeds status pages, and every
    /// backend the old balancer can pick is still a live state whose in-flight requests finish.
    /// </summary>
    internal void ReplaceBackends(BackendState[] backends, IBalancer balancer)
    {
        Volatile.Write(ref _backends, backends);
        Volatile.Write(ref _balancer, balancer);
    }

    /// <summary>The balancer name as configured (see <see cref="BalancerNames"/>).</summary>
    public required string BalancerName { get; init; }

    /// <summary>Only meaningful for weighted-hash.</summary>
    public HashSource HashOn { get; init; } = HashSource.ClientIp;

    /// <summary>Header or cookie name for <see cref="HashSource.Header"/> / <see cref="HashSource.Cookie"/>.</summary>
    public string? HashName { get; init; }

    /// <summary>PROXY protocol header sent on each new backend connection; such connections are never shared between clients.</summary>
    public ProxyProtocolVersion SendProxyProtocol { get; init; }

    /// <summary>
    /// <c>protocol = "h2"</c>: requests go to the backends as HTTP/2 streams (prior knowledge in plaintext, ALPN h2
    /// with <c>tls</c>), multiplexed over a few connections per backend (Http2.Upstream); else pooled HTTP/1.1.
    /// </summary>
    public bool Http2 { get; init; }

    public PoolTimeouts Timeouts { get; init; } = PoolTimeouts.Default;

    /// <summary>TLS to the backends (<c>tls</c>), or null for plaintext.</summary>
    public Tls.BackendTls? Tls { get; init; }

    /// <summary>Requests in flight per backend (<c>max_connections_per_backend</c>); 0 means unlimited.</summary>
    public int MaxConnectionsPerBackend { get; init; }

    /// <summary>The pool's live state (retry budget, slot waiters), the same object across reloads.</summary>
    public PoolState State { get; init; } = new(new Health.RetryBudget(TimeProvider.System));

    /// <summary>Where requests waiting for a backend slot are woken; shared by the pool's backends.</summary>
    public BackendSlots Slots => State.Slots;

    /// <summary>
    /// The live states of the tenants routed to this pool, for fair sharing of its slots. Assigned once by the compiler,
    /// before the snapshot is published (tenants are compiled against their pool, so it cannot be an init).
    /// </summary>
    internal Tenancy.TenantState[] TenantStates { get; set; } = [];
}
