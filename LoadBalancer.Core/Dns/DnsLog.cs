using Microsoft.Extensions.Logging;

namespace LoadBalancer.Core.Dns;

/// <summary>Log lines of the backend name resolver (event ids 1700-1799).</summary>
internal static partial class DnsLog
{
    [LoggerMessage(EventId = 1700, Level = LogLevel.Information, Message = "Backend name {Name} of pool {Pool} now resolves to [{Addresses}] (TTL {Ttl}s): added [{Added}], removed [{Removed}] (removed ones finish their requests and get no new ones)")]
    public static partial void Changed(ILogger logger, string name, string pool, string addresses, int ttl, string added, string removed);

    [LoggerMessage(EventId = 1701, Level = LogLevel.Warning, Message = "Resolving backend name {Name} of pool {Pool}: {Result} ({Reason}); keeping its last good answer [{Addresses}] for up to {Hold}")]
    public static partial void Holding(ILogger logger, string name, string pool, string result, string reason, string addresses, TimeSpan hold);

    [LoggerMessage(EventId = 1702, Level = LogLevel.Warning, Message = "Backend name {Name} of pool {Pool} has failed to resolve for {Hold} (hold): its addresses [{Addresses}] leave the pool")]
    public static partial void HoldExpired(ILogger logger, string name, string pool, TimeSpan hold, string addresses);

    [LoggerMessage(EventId = 1703, Level = LogLevel.Warning, Message = "Backend name {Name} of pool {Pool} does not resolve: {Result} ({Reason}); it adds no backend to the pool until it does (retrying every {Retry})")]
    public static partial void Unresolved(ILogger logger, string name, string pool, string result, string reason, TimeSpan retry);

    [LoggerMessage(EventId = 1704, Level = LogLevel.Error, Message = "Backend name resolver round failed; the next round tries again")]
    public static partial void RoundFailed(ILogger logger, Exception exception);
}
