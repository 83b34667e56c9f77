using LoadBalancer.Core.Proxy;

namespace LoadBalancer.Core.Metrics;

/// <summary>
/// One request, as the session hands it to <see cref="AccessLogWriter"/>: references and numbers only. The request
/// line bytes sit in an ArrayPool rental that the writer returns after formatting, so nothing is formatted or
/// allocated on the connection's thread.
/// </summary>
public struct AccessLogEntry
{
    public long TimeUtcTicks;
    public string Tenant;

    /// <summary>The route's name; null when the tenant's pool served it without a route, or none matched (404).</summary>
    public string? Route;

    /// <summary>The consumer whose key the request presented; null otherwise.</summary>
    public string? Consumer;
    public string? KeyId;
    public byte[] ClientIp;

    /// <summary>Rented: method bytes, then target bytes (truncated to <see cref="AccessLogWriter.MaxTargetBytes"/>).</summary>
    public byte[]? RequestLine;
    public int MethodLength;
    public int TargetLength;
    public int Status;
    public long BytesReceived;
    public long BytesSent;
    public string? Backend;
    public long DurationTicks;
    public CloseReason CloseReason;

    /// <summary>True for a tcp listener's connection: the line says <c>"protocol":"tcp"</c> and has no method, path or status.</summary>
    public bool Tcp;
}
