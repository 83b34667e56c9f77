namespace LoadBalancer.Core.Management;

/// <summary>
/// One admin token as the snapshot keeps it: its id (named in the audit log), the SHA-256 of the secret (the secret
/// itself is never kept) and its role. <c>[admin] token</c> compiles to one with id <see cref="LegacyTokenId"/>, role write.
/// </summary>
public sealed record AdminCredential(string Id, byte[] Sha256, AdminRole Role)
{
    /// <summary>The id the single <c>[admin] token</c> is known by (audit log, dashboard).</summary>
    public const string LegacyTokenId = "token";
}
