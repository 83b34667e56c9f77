namespace LoadBalancer.Core.Balancing;

/// <summary>The balancer names accepted by <c>balancer = "..."</c> in lb.toml.</summary>
public static class BalancerNames
{
    public const string RoundRobin = "round-robin";
    public const string LeastConnections = "least-connections";
    public const string WeightedHash = "weighted-hash";
}
