using LoadBalancer.Core.Http;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Core.Routes;

/// <summary>
/// One route of a tenant as compiled into a snapshot (<c>[[tenants.routes]]</c>): what it matches, the pool it sends
/// to, what it changes on the way (path, Host, header fields both ways), and the limits that override the tenant's.
/// A tenant with a <c>pool</c> also has a fallback route (<see cref="IsFallback"/>): that pool with the tenant's own
/// transforms and limits, for requests no route matches. Immutable; the live counters are in <see cref="Usage"/>.
/// </summary>
public sealed class RouteSnapshot
{
    /// <summary>The route's name (its <c>route</c> label); null for the tenant's fallback.</summary>
    public string? Name { get; init; }

    public bool IsFallback => Name is null;

    /// <summary>Its index among the tenant's routes (file order), for subscriptions; -1 for the fallback.</summary>
    public int Index { get; init; } = -1;

    public required PoolSnapshot Pool { get; init; }

    /// <summary>What the route matches; null for the fallback.</summary>
    public RouteConditions? Conditions { get; init; }

    /// <summary>The tenant's <c>request_headers</c> with the route's on top; null when neither edits anything.</summary>
    public HeaderTransform? RequestHeaders { get; init; }

    /// <summary>The tenant's <c>response_headers</c> with the route's on top.</summary>
    public HeaderTransform? ResponseHeaders { get; init; }

    /// <summary><c>strip_prefix</c> / <c>rewrite_prefix</c>: applied to the path as the head is written.</summary>
    public PathRewrite Rewrite { get; init; }

    /// <summary><c>host</c>: the Host sent to the backend instead of the client's; null keeps it.</summary>
    public byte[]? Host { get; init; }

    /// <summary>The pool's timeouts with the route's <c>timeouts</c> over them.</summary>
    public PoolTimeouts Timeouts { get; init; } = PoolTimeouts.Default;

    /// <summary>The route's own <c>rate_limit</c>, which replaces the tenant's for its requests; null: the tenant's applies.</summary>
    public TokenBucket? RateLimiter { get; init; }

    /// <summary>The route's <c>max_body_bytes</c>, else the tenant's; -1 means unlimited.</summary>
    public long MaxBodyBytes { get; init; } = -1;

    /// <summary>Per-route usage, the same object across reloads while tenant and route names are unchanged; null for the fallback.</summary>
    public RouteUsage? Usage { get; init; }
}
