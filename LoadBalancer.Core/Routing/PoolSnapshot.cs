using LoadBalancer.Core.Balancing;

namespace LoadBalancer.Core.Routing;

/// <summary>A pool as compiled into one snapshot: its backends' live states and its balancer over them.</summary>
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

    /// <summary>Requests in flight per backend (<c>max_connections_per_backend</c>); 0 means unlimited.</summary>
    public int MaxConnectionsPerBackend { get; init; }

    /// <summary>Where requests waiting for a backend slot are woken; shared by the pool's backends.</summary>
    public BackendSlots Slots { get; init; } = BackendSlots.None;

    /// <summary>The live states of the tenants routed to this pool (set once while compiling), for fair sharing of its slots.</summary>
    internal Tenancy.TenantState[] TenantStates { get; set; } = [];
}
