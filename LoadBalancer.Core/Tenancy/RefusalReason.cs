namespace LoadBalancer.Core.Tenancy;

/// <summary>Why lb answered a tenant's request itself instead of forwarding it (label <c>reason</c> of <c>lb_refused_total</c>).</summary>
public enum RefusalReason
{
    /// <summary>401: the tenant requires an access key and none was presented.</summary>
    MissingKey,

    /// <summary>403: the presented key matches none of the tenant's keys.</summary>
    InvalidKey,

    /// <summary>413: the body is larger than <c>max_body_bytes</c>.</summary>
    BodyTooLarge,

    /// <summary>503: the tenant is at <c>max_connections</c>.</summary>
    MaxConnections,

    /// <summary>503: the tenant is at <c>max_in_flight</c>.</summary>
    MaxInFlight,

    /// <summary>503: every backend of the pool stayed at <c>max_connections_per_backend</c> for <c>timeouts.queue</c>.</summary>
    BackendBusy,

    /// <summary>404: no route of the tenant matches and the tenant has no fallback <c>pool</c>.</summary>
    NoRoute,

    /// <summary>403: the consumer is not subscribed to the route.</summary>
    NotSubscribed,

    /// <summary>429: the consumer's own <c>rate_limit</c>.</summary>
    ConsumerRateLimited,

    /// <summary>429: the consumer's <c>quota</c> for the period is used up.</summary>
    QuotaExceeded,

    /// <summary>403: the key is one of the tenant's, still awaiting approval (<c>key_approval = "manual"</c>).</summary>
    KeyPending,

    /// <summary>403: the key is one of the tenant's, past its <c>expires</c>.</summary>
    KeyExpired,
}
