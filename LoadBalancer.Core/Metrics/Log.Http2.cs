using Microsoft.Extensions.Logging;

namespace LoadBalancer.Core.Metrics;

internal static partial class Log
{
    [LoggerMessage(EventId = 1600, Level = LogLevel.Debug, Message = "Connection {ConnectionId}: HTTP/2 connection error {Reason}")]
    public static partial void Http2ProtocolError(ILogger logger, long connectionId, string reason);

    [LoggerMessage(EventId = 1601, Level = LogLevel.Debug, Message = "Connection {ConnectionId}: HTTP/2 stream {StreamId} refused: {Reason}")]
    public static partial void Http2StreamRefused(ILogger logger, long connectionId, int streamId, string reason);
}
