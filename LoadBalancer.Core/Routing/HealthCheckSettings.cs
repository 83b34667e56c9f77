namespace LoadBalancer.Core.Routing;

/// <summary>A pool's active health check (lb.toml <c>health = { ... }</c>); null on the pool when not configured.</summary>
public sealed record HealthCheckSettings
{
    public HealthCheckKind Kind { get; init; } = HealthCheckKind.Tcp;

    /// <summary>The pool's TLS: an http check then speaks TLS too, with the same verification.</summary>
    public Tls.BackendTls? Tls { get; init; }

    /// <summary>Request target of an http check.</summary>
    public string Path { get; init; } = "/healthz";

    /// <summary>Lowest healthy status of an http check (inclusive).</summary>
    public int ExpectMin { get; init; } = 200;

    /// <summary>Highest healthy status of an http check (inclusive).</summary>
    public int ExpectMax { get; init; } = 399;

    /// <summary>Time between checks of one backend (each one jittered by up to 10%).</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>A check that takes longer has failed.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Good checks in a row that bring a down backend up.</summary>
    public int Rise { get; init; } = 2;

    /// <summary>Failed checks in a row that take an up backend down.</summary>
    public int Fall { get; init; } = 3;
}
