using LoadBalancer.Core.Http;

namespace LoadBalancer.Core.Proxy.Upstream;

/// <summary>
/// A backend's final response head as the downstream codec encodes it for its client: the head's bytes, the parse
/// (status, fields as offsets into the bytes, Content-Length, connection tokens) and the body framing lb decided on.
/// Any codec can read it (names and values are plain ranges); the HTTP/1 one also copies its lines by offset.
/// </summary>
internal readonly struct ResponseHeadView(ReadOnlyMemory<byte> bytes, in HttpMessageHead head, HeaderLine[] headers, BodyFraming framing)
{
    public ReadOnlyMemory<byte> Bytes { get; } = bytes;

    public HttpMessageHead Head { get; } = head;

    public HeaderLine[] Headers { get; } = headers;

    public BodyFraming Framing { get; } = framing;

    public int Status => Head.StatusCode;
}
