using Microsoft.Extensions.Logging;

namespace LoadBalancer.Core.Metrics;

internal static partial class Log
{
    /// <summary>Every answer lb gives itself: with --log-level debug this explains any refusal (never a key or Authorization value).</summary>
    [LoggerMessage(EventId = 1103, Level = LogLevel.Debug, Message = "Connection {ConnectionId}: answered {Status} {Code}: {Detail}{Subject}")]
    public static partial void LocalReply(ILogger logger, long connectionId, int status, string code, string detail, string subject);
}
