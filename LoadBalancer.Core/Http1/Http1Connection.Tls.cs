using LoadBalancer.Core.Metrics;
using LoadBalancer.Core.Proxy;
using LoadBalancer.Core.Tls;
using LoadBalancer.Core.Transport;

namespace LoadBalancer.Core.Http1;

internal sealed partial class Http1Connection
{
    /// <summary>
    /// The accept-time TLS step on a TLS listener, after the PROXY header: the handshake under handshake_timeout with
    /// the certificate of the listener's current snapshot (kept for the connection's life). Plain HTTP gets lb's 400 in
    /// plain text, then the connection closes, as nginx does. Counted in lb_tls_handshakes_total either way.
    /// </summary>
    private async ValueTask<bool> HandshakeAsync()
    {
        var tls = (TlsConnection)_client;
        var settings = _listener.Snapshot.Tls!;
        ArmTimer(_clientTimer, settings.HandshakeTimeout);
        var result = await tls.HandshakeAsync(settings, _clientTimer, _clientReader.TakeBuffered()).ConfigureAwait(false);
        settings.Counters.Add(result);
        if (result is TlsHandshakeResult.Ok or TlsHandshakeResult.Resumed)
        {
            DisarmTimer(_clientTimer);
            return true;
        }

        Log.TlsHandshakeFailed(_logger, _id, TlsHandshakeCounters.Name(result), tls.SawPlainText);
        if (!tls.SawPlainText)
        {
            SetCloseReason(CloseReason.TlsHandshakeFailed);
            return false;
        }

        SetCloseReason(CloseReason.BadRequest);
        try
        {
            // The timer has time left unless the client was slow; the answer is small enough to fit the socket buffer.
            ArmTimer(_clientTimer, LateAnswerTimeout);
            await tls.SendAsync(Http1ReplyEncoder.Constant(LocalReplies.PlainHttpToTlsPort, json: false, close: true), _clientTimer).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsExpectedNetworkError(ex))
        {
            // The client is gone; the connection closes either way.
        }

        return false;
    }
}
