using System.Net;

namespace LoadBalancer.Core.Routing;

/// <summary>The configured, immutable part of a backend: where it is and how much traffic it should take.</summary>
/// <param name="Address">The address as written in lb.toml; it is the backend's identity across reloads.</param>
/// <param name="EndPoint">Where lb connects: the IP literal, or one address a name resolved to.</param>
public sealed record Backend(string Address, IPEndPoint EndPoint, int Weight)
{
    /// <summary>
    /// The DNS name this backend was resolved from (<c>address = "api.internal:8443"</c>), or null for an IP literal:
    /// the name backend TLS checks and sends as SNI when the pool sets no <c>sni</c>.
    /// </summary>
    public string? HostName { get; init; }
}
