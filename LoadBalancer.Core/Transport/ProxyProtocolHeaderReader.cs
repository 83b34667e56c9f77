using System.Buffers;
using System.Net;

namespace LoadBalancer.Core.Transport;

/// <summary>
/// The accept-time step of listeners with <c>accept_proxy_protocol</c>: the connection's first bytes must be a PROXY
/// v1/v2 header from the trusted load balancer in front, whose source address replaces the socket's peer address. It
/// runs before any codec (HTTP/1, an L4 tunnel, later a TLS handshake), so every protocol sees the same client address.
/// </summary>
internal static class ProxyProtocolHeaderReader
{
    /// <summary>
    /// Reads and consumes the header: Complete (with the source, or null for a LOCAL header that keeps the peer
    /// address), or Invalid for a bad header or a connection closed before one. A fired timer throws.
    /// </summary>
    public static async ValueTask<(ProxyProtocolStatus Status, IPEndPoint? Source)> ReadAsync(SocketReader reader, DeadlineTimer timer)
    {
        while (true)
        {
            var result = await reader.ReadAsync(timer).ConfigureAwait(false);
            var buffer = result.Buffer;
            var status = Parse(buffer, out var consumed, out var source);
            if (status == ProxyProtocolStatus.Complete)
            {
                reader.AdvanceTo(buffer.GetPosition(consumed));
                return (status, source);
            }

            if (status == ProxyProtocolStatus.Invalid || result.IsCompleted || result.IsCanceled)
            {
                reader.AdvanceTo(buffer.End);
                return (ProxyProtocolStatus.Invalid, null);
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static ProxyProtocolStatus Parse(in ReadOnlySequence<byte> buffer, out int consumed, out IPEndPoint? source)
    {
        if (buffer.IsSingleSegment)
        {
            return ProxyProtocolCodec.TryRead(buffer.FirstSpan, out consumed, out source);
        }

        Span<byte> copy = stackalloc byte[ProxyProtocolCodec.MaxV2Length];
        var length = (int)Math.Min(buffer.Length, copy.Length);
        buffer.Slice(0, length).CopyTo(copy);
        return ProxyProtocolCodec.TryRead(copy[..length], out consumed, out source);
    }
}
