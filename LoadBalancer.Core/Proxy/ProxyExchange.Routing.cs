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
        }

        return admission;
    }

    /// <summary>The admitted route's edits to the forwarded head; the access key never reaches the backend.</summary>
    public HeaderEdits ForwardEdits => new(KeyHeaderIndex, Route!.RequestHeaders, Route.Rewrite, Route.Host);

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
}
