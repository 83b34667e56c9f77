namespace LoadBalancer.Core.Routing;

/// <summary>A tenant as compiled into one snapshot.</summary>
public sealed class TenantSnapshot
{
    public required string Name { get; init; }

    public required PoolSnapshot Pool { get; init; }
}
