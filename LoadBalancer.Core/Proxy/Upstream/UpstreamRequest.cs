using System.Net;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Core.Proxy.Upstream;

/// <summary>
/// What the backend connector needs of one request or tunnel, whatever protocol carried it: the pool, the tenant whose
/// fair share a saturated pool applies, the key the balancer hashes, and what the client side allows.
/// </summary>
internal readonly struct UpstreamRequest
{
    public required PoolSnapshot Pool { get; init; }

    /// <summary>The request's timeouts (a route's over its pool's); null: the pool's.</summary>
    public PoolTimeouts? Timeouts { get; init; }

    /// <summary>The tenant's live state, for the fair share of a saturated pool; null when no tenant is known.</summary>
    public TenantState? Tenant { get; init; }

    /// <summary>The key a weighted-hash pool hashes, in a buffer the caller owns for the whole acquire (a slot wait re-picks with it).</summary>
    public ReadOnlyMemory<byte> HashKey { get; init; }

    /// <summary>
    /// The request's Host without port, for a <c>tls</c> pool without <c>sni</c> (checked and sent as SNI to IP-literal
    /// backends, and the key a pooled connection must match); empty otherwise and for tunnels.
    /// </summary>
    public ReadOnlyMemory<byte> TlsHost { get; init; }

    /// <summary>The client's address as sent in a PROXY header to backends that want one.</summary>
    public IPEndPoint? Client { get; init; }

    /// <summary>A pooled keep-alive connection may serve it (HTTP); a tunnel always opens its own.</summary>
    public bool MayReuse { get; init; }

    /// <summary>Poll a pooled connection for liveness before use: for requests that cannot be replayed (they have a body).</summary>
    public bool ProbePooled { get; init; }

    /// <summary>Retries start here: after a failure on <see cref="Avoid"/>, the next attempt goes elsewhere.</summary>
    public int FirstAttempt { get; init; }

    public BackendState? Avoid { get; init; }

    /// <summary>
    /// For a pool whose connections carry many requests at once (<c>protocol = "h2"</c>): what opens the request on a
    /// picked backend in place of renting or connecting one connection for it. Null: pooled HTTP/1 connections.
    /// </summary>
    public IBackendOpener? Opener { get; init; }
}

/// <summary>Opens a request on a picked backend whose in-flight slot is taken (the slot's token goes with it).</summary>
internal interface IBackendOpener
{
    /// <summary>False: the backend could not be reached (the connector counts the failed connect and tries the next one).</summary>
    ValueTask<bool> OpenAsync(BackendConnector connector, BackendState backend, int inFlightToken, ReadOnlyMemory<byte> tlsHost);
}
