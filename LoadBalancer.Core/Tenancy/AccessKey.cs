namespace LoadBalancer.Core.Tenancy;

/// <summary>
/// An accepted access key: its id (recorded in usage and logs), the SHA-256 of the key (never the key), its usage, and
/// the consumer it identifies (a <c>[[consumers]]</c> key), if any.
/// </summary>
public sealed record AccessKey(string Id, byte[] Sha256, KeyUsage Usage, Consumers.ConsumerSnapshot? Consumer = null);
