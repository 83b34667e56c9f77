using LoadBalancer.Core.Routing;

namespace LoadBalancer.Core.Balancing;

/// <summary>What a balancer may look at for one pick. A ref struct so the hash key can point into the request head.</summary>
public readonly ref struct PickContext
{
    /// <summary>Bytes to hash for weighted-hash (client IP, header value, cookie value or path); empty otherwise.</summary>
    public ReadOnlySpan<byte> HashKey { get; init; }

    /// <summary>0 for the first try; 1, 2, ... for retries after a failed upstream connect.</summary>
    public int Attempt { get; init; }

    /// <summary>
    /// A backend that just failed for this request; every policy picks another one if any other is available. When
    /// Avoid is the only available backend, it is returned only if <see cref="Attempt"/> is 0; a retry gets null.
    /// </summary>
    public BackendState? Avoid { get; init; }
}
