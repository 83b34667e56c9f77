namespace LoadBalancer.Core.Proxy;

/// <summary>How a message body is delimited (RFC 9112 section 6.3).</summary>
internal enum BodyFraming : byte
{
    None,
    ContentLength,
    Chunked,

    /// <summary>Responses only: the body runs until the backend closes; the client connection must close after it.</summary>
    UntilClose,
}
