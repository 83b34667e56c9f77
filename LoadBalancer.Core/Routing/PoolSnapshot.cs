using LoadBalancer.Core.Balancing;

namespace LoadBalancer.Core.Routing;

/// <summary>
/// A pool as compiled into one snapshot: immutable once published. What requests change lives in <see cref="State"/>
/// and in each <see cref="BackendState"/>, both carried across reloads.
/// </summary>
public sealed partial class PoolSnapshot
{
    public required string Name { get; init; }

    public required BackendState[] Backends { get; init; }

    public required IBalancer Balancer { get; init; }

    /// <summary>The balancer name as configured (see <see cref="BalancerNames"/>).</summary>
    public required string BalancerName { get; init; }

    /// <summary>Only meaningful for weighted-hash.</summary>
    public HashSource HashOn { get; init; } = HashSource.ClientIp;

    /// <summary>Header or cookie name for <see cref="HashSource.Header"/> / <see cref="HashSource.Cookie"/>.</summary>
    public string? HashName { get; init; }

    /// <summary>PROXY protocol header sent on each new backend connection; such connections are never shared between clients.</summary>
    public ProxyProtocolVersion SendProxyProtocol { get; init; }

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
