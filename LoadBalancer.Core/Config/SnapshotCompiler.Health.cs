using LoadBalancer.Core.Health;
using LoadBalancer.Core.Routing;

namespace LoadBalancer.Core.Config;

/// <summary>Compiles a pool's health, retries, outlier and slow_start keys (validated input only).</summary>
internal static partial class SnapshotCompiler
{
    private static HealthCheckSettings? CompileHealthCheck(LbPoolSection pool)
    {
        if (pool.HealthPosition is null)
        {
            return null;
        }

        var defaults = new HealthCheckSettings();
        var min = defaults.ExpectMin;
        var max = defaults.ExpectMax;
        if (pool.HealthExpect is { } expect)
        {
            ConfigValidator.TryParseStatusRange(expect.Value, out min, out max);
        }

        return new HealthCheckSettings
        {
            Kind = pool.HealthType?.Value == "http" ? HealthCheckKind.Http : HealthCheckKind.Tcp,
            Path = pool.HealthPath?.Value ?? defaults.Path,
            ExpectMin = min,
            ExpectMax = max,
            Interval = Duration(pool.HealthInterval, defaults.Interval),
            Timeout = Duration(pool.HealthTimeout, defaults.Timeout),
            Rise = (int)(pool.HealthRise?.Value ?? defaults.Rise),
            Fall = (int)(pool.HealthFall?.Value ?? defaults.Fall),
        };
    }

    private static AllDownPolicy CompileAllDown(LbPoolSection pool) =>
        pool.HealthAllDown?.Value == "try-all" ? AllDownPolicy.TryAll : AllDownPolicy.Fail;

    private static RetrySettings CompileRetries(LbPoolSection pool) =>
        pool.RetryAttempts is null && pool.RetryBudget is null
            ? RetrySettings.Default
            : new RetrySettings
            {
                Attempts = (int)(pool.RetryAttempts?.Value ?? RetrySettings.Default.Attempts),
                Budget = pool.RetryBudget?.Value ?? RetrySettings.Default.Budget,
            };

    private static OutlierSettings CompileOutlier(LbPoolSection pool) =>
        pool.OutlierConsecutiveFailures is null && pool.OutlierBaseEjection is null && pool.OutlierMaxEjectedShare is null
            ? OutlierSettings.Default
            : new OutlierSettings
            {
                ConsecutiveFailures = (int)(pool.OutlierConsecutiveFailures?.Value ?? OutlierSettings.Default.ConsecutiveFailures),
                BaseEjection = Duration(pool.OutlierBaseEjection, OutlierSettings.Default.BaseEjection),
                MaxEjectedShare = pool.OutlierMaxEjectedShare?.Value ?? OutlierSettings.Default.MaxEjectedShare,
            };

    /// <summary>
    /// The same pool's live state from the previous snapshot, so a reload hands out no fresh retry window and requests
    /// waiting for a backend slot are still woken by releases. Read only: compiling changes nothing that is live.
    /// </summary>
    private static PoolState CarryPoolState(PoolSnapshot? oldPool) => oldPool?.State ?? new PoolState(new RetryBudget(TimeProvider.System));

    /// <summary>Backend states carry the pool's slow_start themselves: the ramp is read by balancers, per backend.</summary>
    private static void ApplySlowStart(BackendState[] states, LbPoolSection pool)
    {
        var slowStart = Duration(pool.SlowStart, TimeSpan.Zero);
        foreach (var state in states)
        {
            state.SlowStart = slowStart;
        }
    }
}
