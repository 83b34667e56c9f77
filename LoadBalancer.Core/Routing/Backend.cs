using System.Net;

namespace LoadBalancer.Core.Routing;

/// <summary>The configured, immutable part of a backend: where it is and how much traffic it should take.</summary>
/// <param name="Address">The address as written in lb.toml; it is the backend's identity across reloads.</param>
public sealed record Backend(string Address, IPEndPoint EndPoint, int Weight);
