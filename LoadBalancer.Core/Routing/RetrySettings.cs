namespace LoadBalancer.Core.Routing;

/// <summary>A pool's retry policy (lb.toml <c>retries = { attempts, budget }</c>).</summary>
public sealed record RetrySettings
{
    public static readonly RetrySettings Default = new();

    /// <summary>Tries after the first one, each on another backend (connect failures; resets of idempotent requests).</summary>
    public int Attempts { get; init; } = 2;

    /// <summary>Retries allowed as a share of the pool's requests over the last 10 s (plus a floor of 10 per window).</summary>
    public double Budget { get; init; } = 0.2;
}
