using System.Buffers;
using LoadBalancer.Core.Http;

namespace LoadBalancer.Core.Http1;

/// <summary>
/// The head being handled on one HTTP/1 client connection: the request's, then (once its head was encoded for the
/// backend and only its recorded facts are needed) the response's. One object shared by the connection and its
/// upstream exchange, so a keep-alive connection carries one copy of this state, not one per side.
/// </summary>
internal sealed class Http1HeadState
{
    public HttpMessageHead Head;
    public HeaderLine[]? Headers;
    public byte[]? Scratch;
    public ReadOnlyMemory<byte> Memory;

    /// <summary>The reader's buffer that starts with the head; its reader is advanced past it when the head is done.</summary>
    public ReadOnlySequence<byte> Pending;

    public HeadParseStatus Parse(in ReadOnlySequence<byte> buffer, bool isRequest, HttpLimits limits)
        => Http1HeadReader.Parse(buffer, isRequest, limits, ref Head, ref Headers, ref Scratch, out Memory);

    /// <summary>Returns the pooled arrays; the state holds no buffer until the next head.</summary>
    public void Release()
    {
        Pending = default;
        Memory = default;
        Http1HeadReader.Release(ref Headers, ref Scratch);
    }
}
