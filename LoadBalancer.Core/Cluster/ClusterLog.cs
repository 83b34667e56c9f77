using Microsoft.Extensions.Logging;

namespace LoadBalancer.Core.Cluster;

/// <summary>The cluster sync's log lines, with fixed event ids.</summary>
internal static partial class ClusterLog
{
    [LoggerMessage(EventId = 1500, Level = LogLevel.Information, Message = "Cluster: instance {InstanceId} syncs rate limits with Redis {Redis} every {Interval}; live instances: {Instances}")]
    public static partial void Joined(ILogger logger, string instanceId, string redis, string interval, int instances);

    [LoggerMessage(EventId = 1501, Level = LogLevel.Error, Message = "Cluster: Redis {Redis} unreachable ({Reason}); tenant rate limits fall back to 1/{Instances} of each limit on this instance until it answers")]
    public static partial void RedisDown(ILogger logger, string redis, string reason, int instances);

    [LoggerMessage(EventId = 1502, Level = LogLevel.Error, Message = "Cluster: Redis {Redis} still unreachable after {Duration} ({Reason}); rate limits are local (1/{Instances} of each)")]
    public static partial void RedisStillDown(ILogger logger, string redis, string duration, string reason, int instances);

    [LoggerMessage(EventId = 1503, Level = LogLevel.Warning, Message = "Cluster: Redis {Redis} answers again after {Duration}; tenant rate limits are cluster-wide again (live instances: {Instances})")]
    public static partial void RedisBack(ILogger logger, string redis, string duration, int instances);

    [LoggerMessage(EventId = 1504, Level = LogLevel.Information, Message = "Cluster: live instances: {Instances} (was {Previous})")]
    public static partial void InstancesChanged(ILogger logger, int instances, int previous);

    [LoggerMessage(EventId = 1505, Level = LogLevel.Error, Message = "Cluster: sync round failed unexpectedly")]
    public static partial void RoundFailed(ILogger logger, Exception exception);
}
