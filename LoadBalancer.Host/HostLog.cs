using Microsoft.Extensions.Logging;

namespace LoadBalancer.Host;

/// <summary>The host's own log lines (start, drain summary), with fixed event ids.</summary>
internal static partial class HostLog
{
    /// <param name="summary">The <c>lb check</c> line: <c>PATH: OK: 1 listener, 2 tenants, 2 pools, 4 backends</c>.</param>
    [LoggerMessage(EventId = 2100, Level = LogLevel.Information, Message = "lb started (pid {Pid}): {Summary}")]
    public static partial void Started(ILogger logger, int pid, string summary);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "Drain done in {Elapsed}: {Finished} finished, {Cut} cut at drain_timeout {Timeout} (of {Open} open when it began)")]
    public static partial void Drained(ILogger logger, string elapsed, int finished, int cut, string timeout, int open);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Information, Message = "Drain done in {Elapsed}: no connection was open")]
    public static partial void DrainedIdle(ILogger logger, string elapsed);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Information, Message = "Admin endpoint listening on {EndPoint}")]
    public static partial void AdminListening(ILogger logger, System.Net.EndPoint endPoint);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Error, Message = "Admin endpoint cannot move to {EndPoint} ({Error}); it keeps listening on {Current}")]
    public static partial void AdminRebindFailed(ILogger logger, System.Net.EndPoint endPoint, string error, string current);
}
