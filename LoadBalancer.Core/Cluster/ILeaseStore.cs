namespace LoadBalancer.Core.Cluster;

/// <summary>
/// Where the shared buckets live: Redis (<see cref="RedisLeaseStore"/>), or an in-memory one in unit tests. One call
/// per sync round: it records this instance as alive, counts the live instances and leases tokens for each request.
/// </summary>
internal interface ILeaseStore : IAsyncDisposable
{
    /// <summary>The <c>[cluster] redis</c> value it talks to.</summary>
    string Address { get; }

    /// <summary>Throws when the store cannot answer within <paramref name="timeout"/> (not connected, timed out, an error reply).</summary>
    Task<LeaseResult> LeaseAsync(string instanceId, TimeSpan instanceTtl, IReadOnlyList<LeaseRequest> requests, TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>Best effort, on a clean stop: the instance no longer counts (the others divide by one less at once).</summary>
    Task LeaveAsync(string instanceId, TimeSpan timeout, CancellationToken cancellationToken);
}
