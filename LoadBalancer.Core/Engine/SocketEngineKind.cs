namespace LoadBalancer.Core.Engine;

/// <summary>How proxied sockets wait for readiness.</summary>
public enum SocketEngineKind
{
    /// <summary>lb's own edge-triggered epoll loops, one per CPU (Linux x86-64 only).</summary>
    Epoll,

    /// <summary>.NET's socket async methods: every other platform, and comparison runs.</summary>
    Dotnet,
}
