using LoadBalancer.Core.Routes;
using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Core.Routing;

/// <summary>A tenant as compiled into one snapshot: its pool, its limits and keys (immutable), and its live state.</summary>
public sealed class TenantSnapshot
{
    public required string Name { get; init; }

    /// <summary>The <c>[[tenants]]</c> table's fingerprint (Config/TableFingerprint.cs): equal in a reload, this object is reused.</summary>
    internal UInt128 SourceFingerprint { get; init; }

    /// <summary>The tenant's <c>pool</c>: where requests no route matches go; null when it has none (they get 404).</summary>
    public PoolSnapshot? Pool { get; init; }

    /// <summary>The tenant's <c>[[tenants.routes]]</c>, compiled; <see cref="RouteTable.Empty"/> when it has none.</summary>
    public RouteTable Routes { get; init; } = RouteTable.Empty;

    /// <summary>
    /// The route for requests no route matches: <see cref="Pool"/> with the tenant's own header transforms and limits;
    /// null when the tenant has no pool.
    /// </summary>
    public RouteSnapshot? Fallback { get; init; }

    /// <summary>The tenant's <c>[[consumers]]</c>; their keys are in <see cref="AccessKeys"/>.</summary>
    public Consumers.ConsumerSnapshot[] Consumers { get; init; } = [];

    /// <summary>
    /// The usage ledger's cells, one per (no consumer or a consumer) x (no route or a route), at
    /// <c>(consumer.Index + 1) * (routes + 1) + route.Index + 1</c>: found without a lookup at the end of a request.
    /// </summary>
    internal Usage.UsageCell[] Cells { get; init; } = [];

    internal Usage.UsageCell? CellOf(Consumers.ConsumerSnapshot? consumer, RouteSnapshot? route)
        => Cells.Length == 0 ? null : Cells[(((consumer?.Index ?? -1) + 1) * (Routes.Count + 1)) + (route?.Index ?? -1) + 1];

    /// <summary>The route a request goes by: the first of <see cref="Routes"/> that matches, else <see cref="Fallback"/>; null means 404.</summary>
    public RouteSnapshot? RouteOf(in Http.RequestView request) => Routes.Match(request) ?? Fallback;

    /// <summary>Counters, limiter and connection counts; the same object across reloads while the tenant's name is unchanged.</summary>
    public TenantState State { get; init; } = null!;

    /// <summary>
    /// Null when the tenant has no <c>rate_limit</c>. The same bucket is carried into the next snapshot while the limit
    /// is unchanged (so a reload neither refills nor empties it); a changed limit starts a new, full one.
    /// </summary>
    public TokenBucket? RateLimiter { get; init; }

    /// <summary>
    /// Set instead of <see cref="RateLimiter"/> when <c>[cluster] redis</c> makes the tenant's <c>rate_limit</c> fleet-wide;
    /// carried across reloads the same way.
    /// </summary>
    public Cluster.ClusterRateLimiter? ClusterLimiter { get; init; }

    /// <summary><c>rate_limit.requests_per_second</c>, or null when the tenant has none (local or cluster-wide alike).</summary>
    public long? RequestsPerSecond => RateLimiter?.RequestsPerSecond ?? ClusterLimiter?.RequestsPerSecond;

    /// <summary><c>rate_limit.burst</c>, or null when the tenant has no rate limit.</summary>
    public long? Burst => RateLimiter?.Burst ?? ClusterLimiter?.Burst;

    /// <summary>Tokens left at <paramref name="now"/> (Stopwatch ticks): the local bucket's, or those leased and not spent; null without a limit.</summary>
    public double? RateLimitTokens(long now) => RateLimiter?.Available(now) ?? ClusterLimiter?.Available(now);

    /// <summary>0 means unlimited (<c>max_connections</c>).</summary>
    public int MaxConnections { get; init; }

    /// <summary>0 means unlimited (<c>max_in_flight</c>).</summary>
    public int MaxInFlight { get; init; }

    /// <summary>-1 means unlimited (<c>max_body_bytes</c>).</summary>
    public long MaxBodyBytes { get; init; } = -1;

    /// <summary>Empty means the tenant needs no key.</summary>
    public AccessKey[] AccessKeys
    {
        get => _accessKeys;
        init
        {
            _accessKeys = value;
            KeysByHash = value.Length > KeyIndexThreshold ? IndexKeys(value) : null;
        }
    }

    private readonly AccessKey[] _accessKeys = [];

    private const int KeyIndexThreshold = 8;

    /// <summary>
    /// With many keys (a tenant's consumers), the keys by the first 8 bytes of their SHA-256, so a request compares its
    /// key's hash with the few candidates of that prefix (in constant time) instead of every key: the cost stays flat
    /// with 10,000 consumers. Only who already holds a SHA-256 preimage could learn anything from the lookup.
    /// </summary>
    internal System.Collections.Frozen.FrozenDictionary<ulong, AccessKey[]>? KeysByHash { get; private init; }

    private static System.Collections.Frozen.FrozenDictionary<ulong, AccessKey[]> IndexKeys(AccessKey[] keys)
    {
        var index = new Dictionary<ulong, List<AccessKey>>();
        foreach (var key in keys)
        {
            var prefix = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(key.Sha256);
            if (!index.TryGetValue(prefix, out var list))
            {
                index[prefix] = list = [];
            }

            list.Add(key);
        }

        return System.Collections.Frozen.FrozenDictionary.ToFrozenDictionary(index, p => p.Key, p => p.Value.ToArray());
    }

    /// <summary>The header carrying the key (<c>access_key_header</c>, default Authorization).</summary>
    public string AccessKeyHeader { get; init; } = "Authorization";

    /// <summary>True for Authorization: the value is <c>Bearer &lt;key&gt;</c>; other headers carry the raw key.</summary>
    public bool AccessKeyIsBearer { get; init; } = true;
}
