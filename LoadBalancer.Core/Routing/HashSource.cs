namespace LoadBalancer.Core.Routing;

/// <summary>What weighted-hash hashes: <c>hash_on = "client-ip" | "header:Name" | "cookie:Name" | "path"</c>.</summary>
public enum HashSource
{
    ClientIp,
    Header,
    Cookie,
    Path,
}
