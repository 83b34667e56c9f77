namespace LoadBalancer.Core.Routing;

/// <summary>A pool's passive health check (lb.toml <c>outlier = { consecutive_failures, base_ejection, max_ejected_share }</c>).</summary>
public sealed record OutlierSettings
{
    public static readonly OutlierSettings Default = new();

    /// <summary>Connect failures, resets, response timeouts and 5xx in a row that eject a backend; 0 turns ejection off.</summary>
    public int ConsecutiveFailures { get; init; } = 5;

    /// <summary>First ejection; the n-th in a row lasts n times as long (at most 5 minutes, or this if longer).</summary>
    public TimeSpan BaseEjection { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>At most this share of the pool's backends (rounded down) is ejected at once.</summary>
    public double MaxEjectedShare { get; init; } = 0.5;
}
