using LoadBalancer.Core.Balancing;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Core.Proxy;

internal sealed partial class ProxyExchange
{
    private const int MaxHashKeyBytes = 512;

    private byte[]? _hashKey;
    private int _hashKeyLength;

    // A DNS name is at most 253 bytes; a longer Host cannot be a certificate name, and gets no SNI of its own.
    private const int MaxTlsHostBytes = 255;
    private byte[]? _tlsHost;
    private int _tlsHostLength;

    /// <summary>
    /// The Host (without port) sent to the backend, for a pool with <c>tls</c> and no <c>sni</c>: the name its IP-literal
    /// backends are checked against and sent as SNI. Empty for any other pool. Valid until the next request.
    /// </summary>
    public ReadOnlyMemory<byte> TlsHost => _tlsHost is null ? default : _tlsHost.AsMemory(0, _tlsHostLength);

    /// <summary>The key the request's pool hashes (weighted-hash pools), valid until the next request of this exchange.</summary>
    public ReadOnlyMemory<byte> HashKey => _hashKey is null ? default : _hashKey.AsMemory(0, _hashKeyLength);

    /// <summary>
    /// The tenant of <paramref name="request"/> by the listener's tenant key (Host/authority, path prefix or a header),
    /// else the listener's default tenant; null when neither, with <paramref name="key"/> the value that matched nothing.
    /// </summary>
    public static TenantSnapshot? FindTenant(ListenerSnapshot listener, in RequestView request, out ReadOnlySpan<byte> key)
    {
        key = listener.TenantKey switch
        {
            TenantKeyKind.Host => request.Authority,
            TenantKeyKind.PathPrefix => request.Target,
            _ => HeaderLookup.FindHeaderValue(request.Source, request.Fields, listener.TenantHeader),
        };
        return listener.Tenants.Find(key) ?? listener.DefaultTenant;
    }

    /// <summary>
    /// The routing step every protocol runs on a parsed request: the tenant by the listener's key, admission (which
    /// picks the route), and the route's hash key. A request no tenant takes is refused as
    /// <see cref="CloseReason.UnknownTenant"/>, with <paramref name="unmatchedKey"/> the value that matched nothing.
    /// After an admission, <see cref="Route"/> is the request's route and <see cref="ForwardEdits"/> its head edits.
    /// </summary>
    public Admission RouteRequest(
        ListenerSnapshot listener,
        in RequestView request,
        ReadOnlySpan<byte> clientIp,
        ref TenantState? connectionTenant,
        out ReadOnlySpan<byte> unmatchedKey)
    {
        var tenant = FindTenant(listener, request, out unmatchedKey);
        if (tenant is null)
        {
            return Admission.Refused(UnknownTenantReply(listener.TenantKey), CloseReason.UnknownTenant);
        }

        var admission = Admit(tenant, listener, request, ref connectionTenant);
        if (admission.IsAdmitted)
        {
            CaptureHashKey(Route!.Pool, request, clientIp);
            CaptureTlsHost(Route.Pool, request);
        }

        return admission;
    }

    /// <summary>
    /// The admitted route's edits to the forwarded head; the access key never reaches the backend. <paramref name="lines"/>
    /// are the connection's own (the verified client certificate's, see Tls.ClientCertificateHeaders), added as they are.
    /// </summary>
    public HeaderEdits ForwardEdits(ReadOnlyMemory<byte> lines) => new(KeyHeaderIndex, Route!.RequestHeaders, Route.Rewrite, Route.Host, lines);

    public static LocalReplyCause UnknownTenantReply(TenantKeyKind kind) => kind switch
    {
        TenantKeyKind.PathPrefix => LocalReplies.UnknownPath,
        TenantKeyKind.Header => LocalReplies.UnknownHeaderKey,
        _ => LocalReplies.UnknownHost,
    };

    /// <summary>
    /// Takes the admitted request's hash key for its pool (client address, a header, a cookie or the path), copied, so
    /// that it outlives the head's buffer through slot waits and retries. Pools that do not hash take nothing.
    /// </summary>
    public void CaptureHashKey(PoolSnapshot pool, in RequestView request, ReadOnlySpan<byte> clientIp)
    {
        _hashKeyLength = 0;
        if (pool.BalancerName != BalancerNames.WeightedHash)
        {
            return;
        }

        var key = pool.HashOn switch
        {
            HashSource.ClientIp => clientIp,
            HashSource.Header => HeaderLookup.FindHeaderValue(request.Source, request.Fields, pool.HashName),
            HashSource.Cookie => HeaderLookup.FindCookie(request.Source, request.Fields, pool.HashName),
            _ => HeaderLookup.PathOf(request.Target),
        };
        _hashKey ??= new byte[MaxHashKeyBytes];
        var length = Math.Min(key.Length, MaxHashKeyBytes);
        key[..length].CopyTo(_hashKey);
        _hashKeyLength = length;
    }

    /// <summary>
    /// Takes the Host the backend will get (the route's <c>host</c>, else the client's) for a pool whose TLS name comes
    /// from the request, copied like the hash key so retries and replays after the head's buffer is gone still have it.
    /// </summary>
    private void CaptureTlsHost(PoolSnapshot pool, in RequestView request)
    {
        _tlsHostLength = 0;
        if (pool.Tls is not { Sni: null })
        {
            return;
        }

        var host = Tls.TlsNames.HostOf(Route!.Host is { } rewritten ? rewritten : request.Authority);
        if (host.Length > 1 && host[0] == (byte)'[')
        {
            host = host[1..^1]; // an IPv6 literal: the address, checked against the certificate's IP addresses
        }

        if (host.IsEmpty || host.Length > MaxTlsHostBytes)
        {
            return;
        }

        _tlsHost ??= new byte[MaxTlsHostBytes];
        host.CopyTo(_tlsHost);
        _tlsHostLength = host.Length;
    }
}
