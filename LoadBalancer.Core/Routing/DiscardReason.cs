namespace LoadBalancer.Core.Routing;

/// <summary>
/// Why a backend connection was closed instead of being kept for the next request (label <c>reason</c> of
/// <c>lb_backend_connections_discarded_total</c>). A connection is reused only when the response ended exactly where
/// its framing said and nothing else came from the backend (RFC 9112 section 9.3); every other end is counted here.
/// </summary>
public enum DiscardReason
{
    /// <summary>Bytes beyond the response's framing were already read (after a HEAD, 204 or 304 head, or a full body).</summary>
    UnreadBytes,

    /// <summary>An idle pooled connection became readable: the backend sent bytes while no request was outstanding.</summary>
    UnsolicitedData,

    /// <summary>An idle pooled connection was closed (FIN or reset) by the backend.</summary>
    BackendClosed,

    /// <summary>The backend's response carried <c>Connection: close</c>.</summary>
    ConnectionClose,

    /// <summary>The response body had no length framing and ran until the backend closed.</summary>
    CloseDelimited,

    /// <summary>lb answered 502 itself: a malformed head or body, an unexpected 101, or a backend that closed mid-response.</summary>
    InvalidResponse,

    /// <summary>lb answered 504 itself: no response head within <c>timeouts.response_head</c>.</summary>
    ResponseTimeout,

    /// <summary>The backend answered before it took the whole request body, or the body copy failed.</summary>
    RequestUnfinished,

    /// <summary>The client went away (or broke its request) while the exchange was in progress.</summary>
    ClientAborted,

    /// <summary>The connection carried a PROXY protocol header, which speaks for one client only.</summary>
    ProxyProtocol,

    /// <summary>Idle longer than the pool's <c>timeouts.idle</c>, the pool's idle slots were full, or the backend left the config.</summary>
    Expired,
}
