using System.Buffers;
using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Metrics;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;
using LoadBalancer.Core.Transport;
using LoadBalancer.Core.Proxy;

namespace LoadBalancer.Core.Http1;

/// <summary>
/// Tenancy on the data path, as the connection sees it: it hands each request to its <see cref="ProxyExchange"/>
/// (admission and accounting, protocol-free) and applies the decision. Called from a few marked lines in the other parts.
/// </summary>
internal sealed partial class Http1Connection
{
    // The tenant this connection counts for (max_connections): the tenant of its latest request.
    private TenantState? _connectionTenant;


    /// <summary>The status line the client is about to get, and the bytes of head (and body, when sent with it).</summary>
    private void OnResponseSent(int status, long bytes) => Exchange.OnResponseSent(status, bytes);

    /// <summary>Ends the request's accounting (see <see cref="ProxyExchange.End"/>).</summary>
    private void EndRequest() => _state?.Exchange.End(_clientIp, CloseReason);

    /// <summary>At the end of the connection: it no longer counts for any tenant.</summary>
    private void DetachTenant()
    {
        EndRequest();
        _connectionTenant?.DetachConnection();
        _connectionTenant = null;
        _state?.Exchange.ReleaseBuffers();
    }
}
