namespace LoadBalancer.Core.Tenancy;

/// <summary>
/// An accepted access key: its id (recorded in usage and logs), the SHA-256 of the key (never the key), its usage, and
/// the consumer it identifies (a <c>[[consumers]]</c> key), if any. A revoked key is never compiled into one.
/// </summary>
public sealed record AccessKey(string Id, byte[] Sha256, KeyUsage Usage, Consumers.ConsumerSnapshot? Consumer = null)
{
    /// <summary>Awaiting approval (<c>key_approval = "manual"</c>): recognised, so it is told apart, but refused.</summary>
    public bool Pending { get; init; }

    /// <summary>UTC ticks of its <c>expires</c>, from which on it is refused; 0 for a key that never expires.</summary>
    public long ExpiresUtcTicks { get; init; }

    /// <summary>The key as the snapshot compiler makes it from a keys file line (null for a revoked key).</summary>
    internal static AccessKey? From(Config.KeysFileLine line, KeyUsage usage, Consumers.ConsumerSnapshot? consumer = null)
        => line.State == KeyState.Revoked ? null : new AccessKey(line.Id, line.Hash, usage, consumer)
        {
            Pending = line.State == KeyState.Pending,
            ExpiresUtcTicks = line.Expires?.UtcTicks ?? 0,
        };
}
