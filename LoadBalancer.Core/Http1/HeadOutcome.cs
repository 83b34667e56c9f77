namespace LoadBalancer.Core.Http1;

/// <summary>How waiting for a message head ended, on either side of an HTTP/1 exchange.</summary>
internal enum HeadOutcome
{
    Complete,
    Closed,
    Invalid,
    Timeout,

    /// <summary>The client opened with the HTTP/2 connection preface (on a listener with http2 on).</summary>
    Http2Preface,
}
