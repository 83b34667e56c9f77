namespace LoadBalancer.Core.Http;

/// <summary>
/// Walks a chunked body (RFC 9112 section 7.1) so the proxy can forward it as raw bytes: it reads only chunk-size
/// lines, extensions and trailers, and skips chunk data. Feed it successive pieces of the stream in order.
/// </summary>
public struct ChunkedDecoder
{
    /// <summary>
    /// Advances over <paramref name="data"/>. <paramref name="consumed"/> is how many bytes belong to this body
    /// (forward them as they are). NeedMore: all of data was consumed. Done: the body ended after consumed bytes.
    /// </summary>
    public ChunkedStatus Advance(ReadOnlySpan<byte> data, out int consumed) => throw new NotImplementedException();
}
