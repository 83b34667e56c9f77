using Microsoft.Extensions.Logging;

namespace LoadBalancer.Core.Metrics;

/// <summary>Log lines of health checks, outlier ejection, retries and drains (event ids 1400-1499).</summary>
internal static partial class HealthLog
{
    [LoggerMessage(EventId = 1400, Level = LogLevel.Warning, Message = "Backend {Backend} of pool {Pool} is DOWN: {Fall} failed {Kind} checks in a row")]
    public static partial void BackendDown(ILogger logger, string backend, string pool, int fall, string kind);

    [LoggerMessage(EventId = 1401, Level = LogLevel.Information, Message = "Backend {Backend} of pool {Pool} is UP: {Rise} good {Kind} checks in a row")]
    public static partial void BackendUp(ILogger logger, string backend, string pool, int rise, string kind);

    [LoggerMessage(EventId = 1402, Level = LogLevel.Warning, Message = "Backend {Backend} of pool {Pool} ejected for {Duration} (ejection #{Ejections}) after consecutive failures")]
    public static partial void BackendEjected(ILogger logger, string backend, string pool, TimeSpan duration, int ejections);

    [LoggerMessage(EventId = 1403, Level = LogLevel.Debug, Message = "Retry of a request to pool {Pool} after {Backend} failed (attempt {Attempt})")]
    public static partial void Retrying(ILogger logger, string pool, string backend, int attempt);

    [LoggerMessage(EventId = 1404, Level = LogLevel.Information, Message = "Backend {Backend} of pool {Pool} {Action} by the admin API ({InFlight} requests in flight)")]
    public static partial void AdminAction(ILogger logger, string backend, string pool, string action, int inFlight);

    /// <summary>Nothing when no pool has a <c>health</c> check: "0 backends checked" is noise to an operator who configured none.</summary>
    public static void ChecksApplied(ILogger logger, int checkers)
    {
        if (checkers > 0)
        {
            ChecksRunning(logger, checkers);
        }
    }

    [LoggerMessage(EventId = 1405, Level = LogLevel.Information, Message = "Health checks: {Checkers} backends checked after applying a snapshot")]
    private static partial void ChecksRunning(ILogger logger, int checkers);

    [LoggerMessage(EventId = 1406, Level = LogLevel.Debug, Message = "Pool {Pool}: no backend available, panic mode (all_down = try-all) sends to {Backend}")]
    public static partial void Panic(ILogger logger, string pool, string backend);
}
