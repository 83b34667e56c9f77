namespace LoadBalancer.Core.Routing;

/// <summary>PROXY protocol version lb sends to a pool's backends (<c>send_proxy_protocol = "v1" | "v2"</c>).</summary>
public enum ProxyProtocolVersion
{
    None,
    V1,
    V2,
}
