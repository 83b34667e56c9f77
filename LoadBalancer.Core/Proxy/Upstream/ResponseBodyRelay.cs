namespace LoadBalancer.Core.Proxy.Upstream;

/// <summary>How the response body reaches the client, as the downstream decided when it sent the head.</summary>
internal enum ResponseBodyRelay
{
    /// <summary>Bytes as the backend framed them (or no body at all).</summary>
    AsIs,

    /// <summary>The whole body went out with the head.</summary>
    SentWithHead,

    /// <summary>Chunk data only: the client cannot take chunked framing (HTTP/1.0), or its codec frames data itself.</summary>
    Dechunked,
}
