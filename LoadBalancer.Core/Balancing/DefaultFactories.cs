namespace LoadBalancer.Core.Balancing;

/// <summary>The built-in balancer factories.</summary>
internal static class DefaultFactories
{
    public static IBalancerFactory[] All =>
    [
        new RoundRobinBalancerFactory(),
        new LeastConnectionsBalancerFactory(),
        new WeightedHashBalancerFactory(),
    ];
}
