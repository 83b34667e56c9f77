using LoadBalancer.Core.Routing;

namespace LoadBalancer.Core.Balancing;

/// <summary>One per algorithm; <see cref="Name"/> is the value of <c>balancer</c> in lb.toml.</summary>
public interface IBalancerFactory
{
    string Name { get; }

    BalancerNeeds Needs { get; }

    /// <summary>Does all precomputation (sequences, rings), so that Pick only reads immutable arrays and counters.</summary>
    IBalancer Create(IReadOnlyList<BackendState> backends);
}
