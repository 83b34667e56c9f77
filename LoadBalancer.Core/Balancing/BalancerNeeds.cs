namespace LoadBalancer.Core.Balancing;

/// <summary>What a balancer needs from the request, so the validator can refuse configs that cannot supply it.</summary>
public enum BalancerNeeds
{
    None,
    HashKey,
}
