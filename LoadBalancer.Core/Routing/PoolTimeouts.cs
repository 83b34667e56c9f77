namespace LoadBalancer.Core.Routing;

/// <summary>Backend-side timeouts of a pool (lb.toml <c>timeouts = { connect, response_head, idle }</c>).</summary>
public sealed record PoolTimeouts
{
    public static readonly PoolTimeouts Default = new();

    /// <summary>TCP connect to a backend; past it the next backend is tried, then 502.</summary>
    public TimeSpan Connect { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>From the request being sent to the response head being complete: 504.</summary>
    public TimeSpan ResponseHead { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an idle pooled keep-alive backend connection is kept.</summary>
    public TimeSpan Idle { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a request waits for a backend slot when every backend is at <c>max_connections_per_backend</c>: then 503.</summary>
    public TimeSpan Queue { get; init; } = TimeSpan.FromSeconds(1);
}
