using LoadBalancer.Core.Routing;

namespace LoadBalancer.Core.Balancing;

/// <summary>Creates <see cref="RoundRobinBalancer"/>s: smooth weighted round-robin, <c>balancer = "round-robin"</c>.</summary>
internal sealed class RoundRobinBalancerFactory : IBalancerFactory
{
    public string Name => BalancerNames.RoundRobin;

    public BalancerNeeds Needs => BalancerNeeds.None;

    public IBalancer Create(IReadOnlyList<BackendState> backends) => new RoundRobinBalancer(backends);
}
