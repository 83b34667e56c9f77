using Microsoft.Extensions.Logging;

namespace LoadBalancer.Core.Metrics;

/// <summary>All engine log lines, as source-generated partials with fixed event ids (no interpolation on hot paths).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "Listener {Listener} ({Protocol}) listening on {EndPoint}")]
    public static partial void ListenerStarted(ILogger logger, string listener, string protocol, System.Net.EndPoint endPoint);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Listener {Listener} on {EndPoint} stopped accepting")]
    public static partial void ListenerStopped(ILogger logger, string listener, System.Net.EndPoint endPoint);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Error, Message = "Listener {Listener} accept loop failed")]
    public static partial void AcceptFailed(ILogger logger, string listener, Exception exception);

    [LoggerMessage(EventId = 1100, Level = LogLevel.Debug, Message = "Connection {ConnectionId} closed: {Reason}")]
    public static partial void ConnectionClosed(ILogger logger, long connectionId, string reason);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "Connection {ConnectionId} failed unexpectedly")]
    public static partial void ConnectionFailed(ILogger logger, long connectionId, Exception exception);

    [LoggerMessage(EventId = 1200, Level = LogLevel.Warning, Message = "Backend {Backend} of pool {Pool}: connect failed")]
    public static partial void BackendConnectFailed(ILogger logger, string backend, string pool);

    [LoggerMessage(EventId = 1210, Level = LogLevel.Warning, Message = "Backend {Backend} of pool {Pool}: TLS handshake failed: {Reason}")]
    public static partial void BackendTlsFailed(ILogger logger, string backend, string pool, string reason);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Warning, Message = "Backend {Backend} of pool {Pool}: invalid response ({Reason})")]
    public static partial void BackendInvalidResponse(ILogger logger, string backend, string pool, string reason);

    /// <summary>"waiting up to 30s for 1 connection", as lb.toml writes durations; Debug when nothing is open (a start that failed, a test).</summary>
    public static void Draining(ILogger logger, TimeSpan timeout, int connections)
    {
        if (connections == 0)
        {
            DrainingNothing(logger);
        }
        else
        {
            Draining(logger, Config.ConfigSyntax.FormatDuration(timeout), connections, Connections(connections));
        }
    }

    public static void DrainAborted(ILogger logger, int connections) => DrainAborted(logger, connections, Connections(connections));

    private static string Connections(int count) => count == 1 ? "connection" : "connections";

    [LoggerMessage(EventId = 1300, Level = LogLevel.Information, Message = "Draining: waiting up to {Timeout} for {Connections} {Unit}")]
    private static partial void Draining(ILogger logger, string timeout, int connections, string unit);

    [LoggerMessage(EventId = 1301, Level = LogLevel.Warning, Message = "Drain timeout: cutting {Connections} {Unit}")]
    private static partial void DrainAborted(ILogger logger, int connections, string unit);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Debug, Message = "Draining: no connection open")]
    private static partial void DrainingNothing(ILogger logger);

    [LoggerMessage(EventId = 1400, Level = LogLevel.Information, Message = "Reload removed {Count} backends: they get no new requests, and their idle connections are closed")]
    public static partial void BackendsRetired(ILogger logger, int count);

    [LoggerMessage(EventId = 1401, Level = LogLevel.Error, Message = "Idle backend connection sweep failed")]
    public static partial void IdleSweepFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1500, Level = LogLevel.Debug, Message = "Connection {ConnectionId}: TLS handshake {Result} (plain text: {PlainText})")]
    public static partial void TlsHandshakeFailed(ILogger logger, long connectionId, string result, bool plainText);

    [LoggerMessage(EventId = 1110, Level = LogLevel.Debug, Message = "Tcp connection on listener {Listener} refused: tenant {Tenant} is at max_connections")]
    public static partial void TcpConnectionRefused(ILogger logger, string tenant, string listener);
}
