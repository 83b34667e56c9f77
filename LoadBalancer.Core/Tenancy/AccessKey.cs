namespace LoadBalancer.Core.Tenancy;

/// <summary>An accepted access key: its id (recorded in usage and logs), the SHA-256 of the key (never the key) and its usage.</summary>
public sealed record AccessKey(string Id, byte[] Sha256, KeyUsage Usage);
