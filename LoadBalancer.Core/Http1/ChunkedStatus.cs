using LoadBalancer.Core.Http;
namespace LoadBalancer.Core.Http1;

public enum ChunkedStatus
{
    /// <summary>All given bytes belong to the body; the body is not over yet.</summary>
    NeedMore,

    /// <summary>The body (last chunk and trailer section) ended; bytes after <c>consumed</c> belong to the next message.</summary>
    Done,

    /// <summary>Malformed chunk framing: 400 to a client, 502 for a backend; close.</summary>
    Invalid,
}
