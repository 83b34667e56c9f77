using LoadBalancer.Core.Http2;
using LoadBalancer.Core.Proxy;

namespace LoadBalancer.Core.Http1;

/// <summary>
/// HTTP/2 by ALPN <c>h2</c> on TLS, or with prior knowledge: a connection that opens with the preface is handed to an <see cref="Http2Connection"/>
/// over the same transport, reader and deadlines. This class stays the engine's session (drain, abort, the sweep).
/// </summary>
internal sealed partial class Http1Connection
{
    private Http2Connection? _http2;

    private async ValueTask RunHttp2Async()
    {
        // The connection's streams have their own request states; this one lends its backend timer to the connection's writes for good.
        BorrowRequestState();
        var http2 = new Http2Connection(_id, _engine, _listener, _client, _clientReader, _clientTimer, BackendTimer, _clientIp, ClientEndPoint, _client as Tls.TlsConnection);
        Volatile.Write(ref _http2, http2);
        await http2.RunAsync().ConfigureAwait(false);
        SetCloseReason(_listener.IsClosing ? CloseReason.Draining : CloseReason.ClientClosed);
    }
}
