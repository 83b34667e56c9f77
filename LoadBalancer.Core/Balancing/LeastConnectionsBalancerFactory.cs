using LoadBalancer.Core.Routing;

namespace LoadBalancer.Core.Balancing;

/// <summary>Creates <see cref="LeastConnectionsBalancer"/>s: weighted least-connections, <c>balancer = "least-connections"</c>.</summary>
internal sealed class LeastConnectionsBalancerFactory : IBalancerFactory
{
    public string Name => BalancerNames.LeastConnections;

    public BalancerNeeds Needs => BalancerNeeds.None;

    public IBalancer Create(IReadOnlyList<BackendState> backends) => new LeastConnectionsBalancer(backends);
}
