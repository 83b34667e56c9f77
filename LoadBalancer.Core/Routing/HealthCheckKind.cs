namespace LoadBalancer.Core.Routing;

/// <summary>lb.toml <c>health.type</c>.</summary>
public enum HealthCheckKind
{
    /// <summary>A TCP connect within the timeout is healthy.</summary>
    Tcp,

    /// <summary><c>GET path</c> answered within the timeout with a status inside <c>expect</c>.</summary>
    Http,
}
