using LoadBalancer.Core.Routes;
using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Core.Consumers;

/// <summary>
/// A consumer (<c>[[consumers]]</c>) as compiled into a snapshot: the tenant whose APIs it calls (its keys are among the
/// tenant's access keys, each pointing back here), its own <c>rate_limit</c> and <c>quota</c> on top of the tenant's
/// limits, and the routes it is subscribed to. The bucket and the quota counter are carried into the next snapshot
/// while their settings are unchanged; usage is kept by the tenant's state by consumer name.
/// </summary>
public sealed class ConsumerSnapshot
{
    private readonly bool[]? _subscribed;

    /// <param name="subscribed">Per route index of the tenant (file order), or null for every route and the fallback.</param>
    public ConsumerSnapshot(string name, string tenant, bool[]? subscribed)
    {
        Name = name;
        Tenant = tenant;
        _subscribed = subscribed;
    }

    public string Name { get; }

    public string Tenant { get; }

    /// <summary>Its index among the tenant's consumers, for the usage cells.</summary>
    public int Index { get; init; }

    public TokenBucket? RateLimiter { get; init; }

    /// <summary><c>quota.requests</c>; 0 without a quota.</summary>
    public long QuotaLimit { get; init; }

    /// <summary>Null without a quota.</summary>
    public QuotaCounter? Quota { get; init; }

    public ConsumerUsage Usage { get; init; } = new();

    /// <summary>True when the consumer lists no routes (all of them, and the tenant's fallback pool).</summary>
    public bool SubscribesToAll => _subscribed is null;

    /// <summary>Whether a request on <paramref name="route"/> is one this consumer may make (403 otherwise).</summary>
    public bool Subscribes(RouteSnapshot route)
        => _subscribed is not { } subscribed || (route.Index >= 0 && route.Index < subscribed.Length && subscribed[route.Index]);
}
