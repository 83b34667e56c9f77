using LoadBalancer.Core.Http;

namespace LoadBalancer.Core.Http1;

/// <summary>The HTTP/1 codec's side of the message model: the protocol-neutral view over one parsed request head.</summary>
internal static class Http1Request
{
    /// <summary>
    /// The <see cref="RequestView"/> of a head parsed by <see cref="Http1HeadParser"/>; the HTTP/1-only facts (version,
    /// absolute form, line offsets, connection tokens) stay in <paramref name="head"/> for the codec.
    /// </summary>
    public static RequestView View(ReadOnlySpan<byte> source, in HttpMessageHead head, ReadOnlySpan<HeaderLine> fields)
        => new(
            source,
            fields[..head.HeaderCount],
            head.Method,
            (head.MethodStart, head.MethodLength),
            (head.AuthorityStart, head.AuthorityLength),
            (head.TargetStart, head.TargetLength),
            Framing(head),
            head.ContentLength,
            head.HeadLength);

    /// <summary>A request body's framing: chunked, a positive length, or none (a request is never close-delimited).</summary>
    public static BodyFraming Framing(in HttpMessageHead head)
        => head.Chunked ? BodyFraming.Chunked : head.ContentLength > 0 ? BodyFraming.ContentLength : BodyFraming.None;
}
