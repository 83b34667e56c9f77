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
