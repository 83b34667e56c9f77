using System.Net;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Core.Routing;

/// <summary>A listener as compiled into one snapshot: where it listens and how it finds a request's tenant.</summary>
public sealed class ListenerSnapshot
{
    public required string Name { get; init; }

    /// <summary>The <c>listen</c> value as written; a listener keeps its socket across reloads while this is unchanged.</summary>
    public required string Listen { get; init; }

    public required IPEndPoint EndPoint { get; init; }

    public ListenerProtocol Protocol { get; init; } = ListenerProtocol.Http;

    public TenantKeyKind TenantKey { get; init; } = TenantKeyKind.Host;

    /// <summary>The header name for <see cref="TenantKeyKind.Header"/>.</summary>
    public string? TenantHeader { get; init; }

    /// <summary>Used when no tenant matches; null means 421 Misdirected Request.</summary>
    public TenantSnapshot? DefaultTenant { get; init; }

    public required TenantTable Tenants { get; init; }

    public HttpLimits Limits { get; init; } = HttpLimits.Default;

    public ListenerTimeouts Timeouts { get; init; } = ListenerTimeouts.Default;

    /// <summary>Expect a PROXY protocol v1/v2 header from a trusted load balancer in front; the client address comes from it.</summary>
    public bool AcceptProxyProtocol { get; init; }

    /// <summary>
    /// <c>http2</c>: a connection that opens with the HTTP/2 preface is served as HTTP/2 (prior knowledge, RFC 9113
    /// section 3.3). Off by default until HTTP/2 is complete (issue 16).
    /// </summary>
    public bool Http2 { get; init; }

    /// <summary>The SETTINGS of this listener's HTTP/2 connections (<c>http2 = { ... }</c>).</summary>
    public Core.Http2.Http2Options Http2Options { get; init; } = Core.Http2.Http2Options.Default;

    /// <summary>Counts of HTTP/2 client errors (<c>lb_http2_protocol_errors_total</c>), carried across reloads by name.</summary>
    public Http2.Http2ErrorCounters Http2Errors { get; init; } = new();

    /// <summary>TLS termination (<c>tls</c>), or null for a plaintext listener.</summary>
    public Tls.ListenerTls? Tls { get; init; }

    /// <summary>Append X-Forwarded-For/-Proto/-Host to requests sent to backends.</summary>
    public bool AddForwardedHeaders { get; init; } = true;

    /// <summary>
    /// True only behind a trusted proxy: client-supplied X-Forwarded-* headers are kept (and appended to).
    /// Otherwise they are stripped, so a client cannot forge its address towards backends.
    /// </summary>
    public bool TrustForwardedHeaders { get; init; }

    /// <summary>
    /// Protocols an <c>Upgrade</c> request may ask for, lower-cased ASCII (<c>upgrade_protocols</c>, default websocket).
    /// Other tokens are stripped before the request goes on; never h2c.
    /// </summary>
    public byte[][] UpgradeProtocols { get; init; } = DefaultUpgradeProtocols;

    internal static readonly byte[][] DefaultUpgradeProtocols = ["websocket"u8.ToArray()];

    /// <summary>The access log of the snapshot this listener belongs to, or null when disabled.</summary>
    public Metrics.AccessLogWriter? AccessLog { get; init; }
}
