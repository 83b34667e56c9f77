using System.Collections.Concurrent;
using LoadBalancer.Core.Http;

namespace LoadBalancer.Core.Proxy;

/// <summary>
/// Every cause for which lb answers an HTTP request itself, with its status, code and detail (docs/errors.md lists
/// them). The codes are contracts: clients may test on them.
/// </summary>
internal static class LocalReplies
{
    public static readonly LocalReplyCause MethodNotAllowed = new(405, "method_not_allowed", "CONNECT is not supported by this proxy");
    public static readonly LocalReplyCause UnknownHost = new(421, "unknown_tenant", "no tenant matches host");
    public static readonly LocalReplyCause UnknownHeaderKey = new(421, "unknown_tenant", "no tenant matches the tenant header value");
    public static readonly LocalReplyCause UnknownPath = new(421, "unknown_tenant", "no tenant matches path");
    public static readonly LocalReplyCause MisdirectedAuthority = new(421, "misdirected_request", "the connection's TLS certificate does not cover this authority");
    public static readonly LocalReplyCause MissingKey = new(401, "missing_access_key", "this tenant requires an access key");
    public static readonly LocalReplyCause InvalidKey = new(403, "invalid_access_key", "the access key is not valid for this tenant");
    public static readonly LocalReplyCause KeyPending = new(403, "key_pending", "the access key awaits an administrator's approval");
    public static readonly LocalReplyCause KeyExpired = new(403, "key_expired", "the access key has expired");
    public static readonly LocalReplyCause RateLimited = new(429, "rate_limited", "the tenant's rate_limit is exceeded", retryAfter: true);
    public static readonly LocalReplyCause NoRoute = new(404, "no_route", "no route of the tenant matches this request");
    public static readonly LocalReplyCause NotSubscribed = new(403, "not_subscribed", "the consumer is not subscribed to this route");
    public static readonly LocalReplyCause ConsumerRateLimited = new(429, "consumer_rate_limited", "the consumer's rate_limit is exceeded", retryAfter: true);
    public static readonly LocalReplyCause QuotaExceeded = new(429, "quota_exceeded", "the consumer's quota for this period is used up", retryAfter: true);
    public static readonly LocalReplyCause BodyTooLarge = new(413, "body_too_large", "the request body exceeds the tenant's max_body_bytes");
    public static readonly LocalReplyCause MaxConnections = new(503, "max_connections", "the tenant's max_connections limit is reached", retryAfter: true);
    public static readonly LocalReplyCause MaxInFlight = new(503, "max_in_flight", "the tenant's max_in_flight limit is reached", retryAfter: true);
    public static readonly LocalReplyCause PoolBusy = new(503, "pool_busy", "every backend of the pool is at max_connections_per_backend for longer than timeouts.queue", retryAfter: true);
    public static readonly LocalReplyCause NoBackend = new(503, "no_backend", "no backend of the pool is available (all down, ejected or drained)", retryAfter: true);
    public static readonly LocalReplyCause BackendUnreachable = new(502, "backend_unreachable", "could not connect to a backend of the pool");
    public static readonly LocalReplyCause BackendClosed = new(502, "backend_closed", "the backend closed the connection without answering");
    public static readonly LocalReplyCause BackendInvalid = new(502, "bad_backend_response", "the backend sent a malformed response");
    public static readonly LocalReplyCause BackendTimeout = new(504, "backend_timeout", "the backend sent no response head within timeouts.response_head");
    public static readonly LocalReplyCause DeadlineExceeded = new(504, "deadline_exceeded", "the request's grpc-timeout passed before the backend answered");
    public static readonly LocalReplyCause RequestHeadTimeout = new(408, "request_timeout", "the request head was not complete within timeouts.request_head");
    public static readonly LocalReplyCause BodyTimeout = new(408, "request_timeout", "the request body stalled for longer than timeouts.body_idle");
    public static readonly LocalReplyCause BadChunkedBody = new(400, "bad_request", "malformed chunked request body");
    public static readonly LocalReplyCause PlainHttpToTlsPort = new(400, "plain_http_to_tls_port", "this port expects TLS (https://), not plain HTTP");
    public static readonly LocalReplyCause Internal = new(500, "internal_error", "lb could not handle the request");

    // Parser errors: one cause per (status, constant reason), made on first use.
    private static readonly ConcurrentDictionary<(int Status, string Reason), LocalReplyCause> HeadErrorCauses = new();

    /// <summary>The cause for a head the parser refused: its status and its constant reason (e.g. "more than one Host header field").</summary>
    public static LocalReplyCause ForHeadError(int status, string? reason)
        => HeadErrorCauses.GetOrAdd((status == 0 ? 400 : status, reason ?? "malformed request head"), static key => new LocalReplyCause(key.Status, CodeFor(key.Status), key.Reason));

    /// <summary>A generic cause for a status no specific cause was recorded for (should not happen; kept as a safety net).</summary>
    public static LocalReplyCause ForStatus(int status) => status switch
    {
        400 => ForHeadError(400, null),
        401 => MissingKey,
        403 => InvalidKey,
        404 => NoRoute,
        405 => MethodNotAllowed,
        408 => RequestHeadTimeout,
        413 => BodyTooLarge,
        421 => UnknownHost,
        429 => RateLimited,
        502 => BackendClosed,
        503 => NoBackend,
        504 => BackendTimeout,
        _ => Internal,
    };

    private static string CodeFor(int status) => status switch
    {
        414 => "uri_too_long",
        431 => "header_fields_too_large",
        501 => "not_implemented",
        505 => "http_version_not_supported",
        _ => "bad_request",
    };
}
