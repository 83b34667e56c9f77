using LoadBalancer.Core.Transport;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Proxy;

namespace LoadBalancer.Core.Http1;

internal sealed partial class Http1Connection
{
    /// <summary>
    /// The accept-time PROXY step (<see cref="ProxyProtocolHeaderReader"/>) on listeners with <c>accept_proxy_protocol</c>.
    /// A missing or bad header closes the connection (as HAProxy does): guessing would let a client spoof its address.
    /// </summary>
    private async ValueTask<bool> ReadProxyProtocolHeaderAsync()
    {
        ArmTimer(_clientTimer, _listener.Snapshot.Timeouts.RequestHead);
        try
        {
            var (status, source) = await ProxyProtocolHeaderReader.ReadAsync(_clientReader, _clientTimer).ConfigureAwait(false);
            if (status != ProxyProtocolStatus.Complete)
            {
                SetCloseReason(CloseReason.BadRequest);
                return false;
            }

            if (source is not null)
            {
                _clientEndPoint = source;
                _clientIp = FormatClientIp(source);
            }

            return true;
        }
        catch (OperationCanceledException) when (_clientTimer.IsCancellationRequested)
        {
            SetCloseReason(CloseReason.RequestHeadTimeout);
            return false;
        }
    }
}
