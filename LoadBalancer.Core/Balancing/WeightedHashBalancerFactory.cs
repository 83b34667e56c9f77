using LoadBalancer.Core.Routing;

namespace LoadBalancer.Core.Balancing;

/// <summary>
/// Creates <see cref="WeightedHashBalancer"/>s: weighted consistent hashing, <c>balancer = "weighted-hash"</c>.
/// Needs a hash key, so the validator refuses it behind a listener that cannot supply one.
/// </summary>
/// <param name="pointsPerWeight">Virtual nodes for the pool's smallest weight.</param>
/// <param name="balanceFactor">Bounded load in percent of the fair share (HAProxy hash-balance-factor); 0 = off.</param>
internal sealed class WeightedHashBalancerFactory(
    int pointsPerWeight = WeightedHashBalancer.DefaultPointsPerWeight,
    int balanceFactor = 0) : IBalancerFactory
{
    public string Name => BalancerNames.WeightedHash;

    public BalancerNeeds Needs => BalancerNeeds.HashKey;

    public IBalancer Create(IReadOnlyList<BackendState> backends) => new WeightedHashBalancer(backends, pointsPerWeight, balanceFactor);
}
