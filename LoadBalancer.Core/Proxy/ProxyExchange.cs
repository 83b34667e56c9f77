using LoadBalancer.Core.Metrics;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;
using LoadBalancer.Core.Http1;

namespace LoadBalancer.Core.Proxy;

/// <summary>
/// One request's tenancy, whatever protocol carried it: admission (connections, access key, rate limit, body size,
/// in-flight), and its accounting (status class, bytes, latency, key and backend usage, the access-log line). It knows
/// no socket and no codec: the connection (<see cref="Http1Connection"/> today, an HTTP/2 stream later) hands it the
/// request's facts and the bytes it moved, and acts on its decisions, so admission is tested without sockets. One per
/// connection, reset per request; everything it touches is Interlocked on the tenant's or backend's own state, and
/// it allocates nothing per request (the access log rents its one buffer).
/// </summary>
internal sealed partial class ProxyExchange
{
    private long _started;
    private long _startedUtc;
    private int _responseStatus;
    private long _bytesIn;
    private long _bytesOut;
    private long _bodyBytes;
    private long _maxBodyBytes = -1;
    private bool _inFlight;
    private int _inFlightToken;

    // The refusal slot of the usage cell (Usage.UsageCell), or -1.
    private int _refusal = -1;
    private AccessLogWriter? _accessLog;
    private byte[]? _logLine;
    private int _logMethodLength;
    private int _logTargetLength;

    /// <summary>The tenant of the request being handled; null between requests and for requests no tenant matched.</summary>
    public TenantSnapshot? Tenant { get; private set; }

    /// <summary>The route the request goes by (a fallback route for the tenant's pool), once admission looked it up; null for a 404.</summary>
    public Routes.RouteSnapshot? Route { get; private set; }

    /// <summary>The header that carried the access key (stripped before forwarding whatever the outcome), or -1.</summary>
    public int KeyHeaderIndex { get; private set; } = -1;

    /// <summary>The access key the request presented, once it matched.</summary>
    public AccessKey? Key { get; private set; }

    /// <summary>The backend whose slot the request holds (counted on it when the request ends).</summary>
    public BackendState? Backend { get; set; }

    /// <summary>A chunked request body went over <c>max_body_bytes</c> while it streamed.</summary>
    public bool BodyTooLarge { get; private set; }

    /// <summary>The final status the client is getting (0 until a response head went out).</summary>
    public int ResponseStatus => _responseStatus;
}
