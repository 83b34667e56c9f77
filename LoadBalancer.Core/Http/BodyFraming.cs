namespace LoadBalancer.Core.Http;

/// <summary>
/// How a message body is delimited, as a fact of the message rather than of its bytes: by a length, in chunks, or by
/// the end of the connection (RFC 9112 section 6.3). An HTTP/2 stream's body is ContentLength or Chunked (DATA frames
/// up to END_STREAM) in this model; each codec turns it into its own framing on the way out.
/// </summary>
public enum BodyFraming : byte
{
    None,
    ContentLength,
    Chunked,

    /// <summary>Responses only: the body runs until the backend closes; the client connection must close after it.</summary>
    UntilClose,
}
