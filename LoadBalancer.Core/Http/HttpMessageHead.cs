using LoadBalancer.Core.Http1;
namespace LoadBalancer.Core.Http;

/// <summary>
/// What the proxy needs to know of a request or response head, as offsets into the head buffer.
/// Filled by <see cref="Http1HeadParser"/>; header fields go to a caller-provided <see cref="HeaderLine"/> span.
/// </summary>
public struct HttpMessageHead
{
    /// <summary>Bytes of the whole head including the empty line that ends it.</summary>
    public int HeadLength;

    /// <summary>Number of entries written to the headers span.</summary>
    public int HeaderCount;

    /// <summary>HTTP minor version: 0 for HTTP/1.0, 1 for HTTP/1.1.</summary>
    public int MinorVersion;

    // Request line (requests only).
    public HttpMethod Method;
    public int MethodStart;
    public int MethodLength;
    public int TargetStart;
    public int TargetLength;

    /// <summary>Offset/length of the authority to route on: the absolute-form target's authority, else the Host value.</summary>
    public int AuthorityStart;
    public int AuthorityLength;

    /// <summary>True when the target was absolute-form (http://authority/path): the Host header must be rewritten to agree.</summary>
    public bool AbsoluteForm;

    // Status line (responses only).
    public int StatusCode;

    // Framing (RFC 9112 section 6).
    /// <summary>-1 when absent.</summary>
    public long ContentLength;

    /// <summary>Transfer-Encoding ends in chunked (the only coding accepted).</summary>
    public bool Chunked;

    // Connection management.
    /// <summary>Connection: close was sent, or HTTP/1.0 without Connection: keep-alive.</summary>
    public bool ConnectionClose;

    /// <summary>An Upgrade header is present and Connection lists "upgrade".</summary>
    public bool Upgrade;

    /// <summary>Expect: 100-continue.</summary>
    public bool ExpectContinue;

    /// <summary>For Invalid: the status to answer (400, 414, 431, 501, 505); for responses the proxy answers 502.</summary>
    public int ErrorStatus;

    /// <summary>For Invalid: a short constant reason for logs and tests (never contains request bytes).</summary>
    public string? ErrorReason;
}
