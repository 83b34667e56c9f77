namespace LoadBalancer.Core.Cluster;

/// <summary>
/// One tenant's ask in a sync round: up to <paramref name="Want"/> tokens from the bucket at <paramref name="Key"/>,
/// which holds <paramref name="Capacity"/> tokens and refills at <paramref name="RequestsPerSecond"/>.
/// </summary>
internal readonly record struct LeaseRequest(string Key, long RequestsPerSecond, long Capacity, long Want);
