using System.Buffers;
using System.Net;
using System.Net.Sockets;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Transport;

namespace LoadBalancer.Core.Proxy;

internal sealed partial class HttpSession
{
    /// <summary>
    /// On listeners with <c>accept_proxy_protocol</c>, the first bytes must be a PROXY v1/v2 header from the trusted
    /// load balancer in front; it replaces the socket's peer address. A missing or bad header closes the connection
    /// (as HAProxy does): guessing would let a client spoof its address.
    /// </summary>
    private async ValueTask<bool> ReadProxyProtocolHeaderAsync()
    {
        ArmTimer(_clientTimer, _listener.Snapshot.Timeouts.RequestHead);
        try
        {
            while (true)
            {
                var result = await _clientReader.ReadAsync(_clientTimer).ConfigureAwait(false);
                var buffer = result.Buffer;
                var status = Parse(buffer, out var consumed, out var source);
                if (status == ProxyProtocolStatus.Complete)
                {
                    _clientReader.AdvanceTo(buffer.GetPosition(consumed));
                    if (source is not null)
                    {
                        _clientEndPoint = source;
                        _clientIp = FormatClientIp(source);
                    }

                    return true;
                }

                if (status == ProxyProtocolStatus.Invalid || result.IsCompleted || result.IsCanceled)
                {
                    _clientReader.AdvanceTo(buffer.End);
                    SetCloseReason(CloseReason.BadRequest);
                    return false;
                }

                _clientReader.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        catch (OperationCanceledException) when (_clientTimer.IsCancellationRequested)
        {
            SetCloseReason(CloseReason.RequestHeadTimeout);
            return false;
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
