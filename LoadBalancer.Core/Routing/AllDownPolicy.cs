namespace LoadBalancer.Core.Routing;

/// <summary>lb.toml <c>health.all_down</c>: what a pool does when none of its backends is available.</summary>
public enum AllDownPolicy
{
    /// <summary><c>"fail"</c> (default): answer 503 Service Unavailable.</summary>
    Fail,

    /// <summary><c>"try-all"</c>: ignore health and ejections (like Envoy's panic threshold); drained backends stay out.</summary>
    TryAll,
}
