using LoadBalancer.Core.Http1;
namespace LoadBalancer.Core.Http;

/// <summary>
/// Why lb answers a request itself: a status, a constant machine-readable code (<c>max_in_flight</c>), a short human
/// detail, and whether the answer carries <c>Retry-After</c>. Protocol-neutral (issue 18): each protocol's encoder
/// renders the same causes (HTTP/1.1: Proxy/Http1ReplyEncoder). Request-derived parts travel in <see cref="LocalReply"/>.
/// </summary>
public sealed class LocalReplyCause(int status, string code, string detail, bool retryAfter = false)
{
    public int Status { get; } = status;

    /// <summary>A constant snake_case code, the <c>error</c> member of the JSON form; stable for clients to test on.</summary>
    public string Code { get; } = code;

    /// <summary>Human-readable and constant: never built from request bytes.</summary>
    public string Detail { get; } = detail;

    public bool RetryAfter { get; } = retryAfter;

    /// <summary>
    /// The HTTP/1.1 encoder's cache of this cause's four constant forms (text/JSON, close/keep-alive), so a flood of
    /// refusals costs a send and no encoding; filled on first use.
    /// </summary>
    internal byte[]?[] Http1Forms { get; } = new byte[4][];

    public override string ToString() => Code;
}
