using LoadBalancer.Core.Health;
using LoadBalancer.Core.Metrics;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Core.Routing;

/// <summary>The resilience part of a pool: health checks, retries, outlier ejection, slow start, panic mode.</summary>
public sealed partial class PoolSnapshot
{
    /// <summary>Active health check, or null when the pool has none.</summary>
    public HealthCheckSettings? HealthCheck { get; init; }

    public AllDownPolicy AllDown { get; init; } = AllDownPolicy.Fail;

    public RetrySettings Retries { get; init; } = RetrySettings.Default;

    public OutlierSettings Outlier { get; init; } = OutlierSettings.Default;

    /// <summary>Ramp of a backend coming back; zero = off.</summary>
    public TimeSpan SlowStart { get; init; }

    /// <summary>The pool's retry budget (live counters in <see cref="State"/>, carried over reloads with the pool name).</summary>
    internal RetryBudget RetryBudget => State.RetryBudget;

    /// <summary>Tries per request or connection: 1 + retries.attempts, at most one per backend.</summary>
    internal int MaxTries => Math.Max(1, Math.Min(1 + Retries.Attempts, Backends.Length));

    /// <summary>
    /// The health rules around a balancer's <paramref name="picked"/> backend, shared by L7 and L4: counts the request
    /// (attempt 0) in the retry budget, applies all_down = "try-all" when nothing is available, and makes a retry
    /// (attempt > 0) take one unit of the budget, answering null when it is spent.
    /// </summary>
    internal BackendState? CompletePick(BackendState? picked, int attempt, BackendState? avoid, ILogger logger)
    {
        if (attempt == 0)
        {
            RetryBudget.OnRequest();
        }

        if (picked is null && AllDown == AllDownPolicy.TryAll)
        {
            picked = PickIgnoringHealth(avoid);
            if (picked is not null)
            {
                HealthLog.Panic(logger, Name, picked.Config.Address);
            }
        }

        if (picked is not null && attempt > 0)
        {
            if (!RetryBudget.TryRetry(Retries.Budget))
            {
                return null;
            }

            HealthLog.Retrying(logger, Name, avoid?.Config.Address ?? "", attempt);
        }

        return picked;
    }

    /// <summary>Passive health: a connect failure, reset, timeout, invalid head or 5xx from <paramref name="backend"/>.</summary>
    internal void RecordFailure(BackendState backend, ILogger logger)
    {
        if (backend.RecordFailure(Outlier, Backends))
        {
            HealthLog.BackendEjected(logger, backend.Config.Address, Name, backend.EjectionRemaining, backend.Ejections);
        }
    }

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

        var start = State.NextPanicStart(n);
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
