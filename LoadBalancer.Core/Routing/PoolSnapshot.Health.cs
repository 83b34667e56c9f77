using LoadBalancer.Core.Health;

namespace LoadBalancer.Core.Routing;

/// <summary>The resilience part of a pool: health checks, retries, outlier ejection, slow start, panic mode.</summary>
public sealed partial class PoolSnapshot
{
    private int _panicRotation = -1;

    /// <summary>Active health check, or null when the pool has none.</summary>
    public HealthCheckSettings? HealthCheck { get; init; }

    public AllDownPolicy AllDown { get; init; } = AllDownPolicy.Fail;

    public RetrySettings Retries { get; init; } = RetrySettings.Default;

    public OutlierSettings Outlier { get; init; } = OutlierSettings.Default;

    /// <summary>Ramp of a backend coming back; zero = off.</summary>
    public TimeSpan SlowStart { get; init; }

    /// <summary>The pool's retry budget (live counters; carried over reloads with the pool name).</summary>
    internal RetryBudget RetryBudget { get; init; } = new(RetrySettings.Default.Budget, TimeProvider.System);

    /// <summary>
    /// Panic pick (<see cref="AllDownPolicy.TryAll"/>): when no backend is available, rotate over every backend that is
    /// not drained, never <paramref name="avoid"/>. Null when nothing is left.
    /// </summary>
    internal BackendState? PickIgnoringHealth(BackendState? avoid)
    {
        var backends = Backends;
        var n = backends.Length;
        if (n == 0)
        {
            return null;
        }

        foreach (var b in backends)
        {
            // Panic only when nothing is available at all; otherwise the balancer's null has another meaning (Avoid).
            if (b.IsAvailable)
            {
                return null;
            }
        }

        var start = (int)((uint)Interlocked.Increment(ref _panicRotation) % (uint)n);
        for (var k = 0; k < n; k++)
        {
            var b = backends[(start + k) % n];
            if (!b.IsDrained && b != avoid)
            {
                return b;
            }
        }

        return null;
    }
}
