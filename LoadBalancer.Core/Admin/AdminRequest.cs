namespace LoadBalancer.Core.Admin;

/// <summary>An admin request: method, path (without query), query string, and the body (admin bodies are small and capped).</summary>
public sealed record AdminRequest(string Method, string Path, string Query, byte[] Body);
