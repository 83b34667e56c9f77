namespace LoadBalancer.Core.Proxy;

/// <summary>Why a client connection ended; the first reason recorded wins.</summary>
public enum CloseReason
{
    None,
    ClientClosed,
    ClientReset,
    ClientRequestedClose,
    KeepAliveTimeout,
    RequestHeadTimeout,
    BodyTimeout,
    BadRequest,
    UnknownTenant,
    NoBackend,
    BackendConnectFailed,
    BackendResponseTimeout,
    BackendInvalidResponse,
    BackendClosed,
    CloseDelimitedResponse,
    UpgradeEnded,
    Draining,
    Aborted,
    Error,

    /// <summary>429: the tenant's rate_limit refused the request.</summary>
    RateLimited,

    /// <summary>401/403: missing or wrong access key.</summary>
    Unauthorized,

    /// <summary>413: the body exceeded the tenant's max_body_bytes.</summary>
    BodyTooLarge,

    /// <summary>503: the tenant is at max_connections or max_in_flight.</summary>
    TenantOverLimit,

    /// <summary>503: every backend of the pool stayed at max_connections_per_backend for timeouts.queue.</summary>
    BackendBusy,

    /// <summary>The TLS handshake failed, timed out, or found no certificate (strict_sni); plain HTTP to a TLS port is BadRequest.</summary>
    TlsHandshakeFailed,

    /// <summary>404: no route of the tenant matched and it has no fallback pool.</summary>
    NoRoute,

    /// <summary>A tcp listener's tunnel ended: both directions closed, or one failed and both were cut.</summary>
    TunnelClosed,
}
