namespace LoadBalancer.Core.Routing;

/// <summary>
/// The live part of a backend: counters and health that survive reloads (reused by pool name + address),
/// and the idle keep-alive connections to it. Written by the proxy and health checks with Interlocked only; the
/// counts a request changes (in flight, requests) are kept per event loop (<see cref="Counters.LoopGauge"/>), except
/// under <c>max_connections_per_backend</c>, whose cap needs one exact shared count.
/// </summary>
public sealed partial class BackendState
{
    private readonly Counters.LoopGauge _inFlight = new();
    private int _retired;

    public BackendState(Backend config) => Config = config;

    /// <summary>Replaced on reload when the weight changes; readers may see either value.</summary>
    public Backend Config { get; internal set; }

    public int Weight => Config.Weight;

    /// <summary>
    /// Requests currently assigned to this backend (in flight; an L4 tunnel counts as one for its lifetime), from every
    /// loop: what <c>max_connections_per_backend</c> caps. Exported as lb_backend_active_requests.
    /// </summary>
    public int InFlight => _inFlight.Value;

    /// <summary>
    /// What balancers read on a loop: the requests this loop has in flight here, plus every loop's under a cap (which
    /// are counted in one shared field). Off every loop, <see cref="InFlight"/>. Each loop balances its own requests
    /// exactly, with no cache line shared with the other loops; see <see cref="Balancing.LeastConnectionsBalancer"/>.
    /// </summary>
    public int InFlightHere => _inFlight.ValueHere;

    /// <summary>
    /// True once a reload removed this backend from every pool. Requests already on it finish, but a connection that
    /// comes back to <see cref="IdleConnections"/> afterwards is closed instead of parked: nothing will rent it again.
    /// </summary>
    public bool IsRetired => Volatile.Read(ref _retired) != 0;

    private Http2.Upstream.Http2SessionSet? _http2Sessions;

    /// <summary>The HTTP/2 connections of an h2 pool to this backend (created on the first one, so most backends hold none).</summary>
    internal Http2.Upstream.Http2SessionSet Http2Sessions
        => Volatile.Read(ref _http2Sessions) ?? Interlocked.CompareExchange(ref _http2Sessions, new Http2.Upstream.Http2SessionSet(), null) ?? _http2Sessions!;

    /// <summary>Sends GOAWAY on this backend's HTTP/2 connections, which close once their streams end (bounded by <paramref name="drainTimeout"/>).</summary>
    internal void RetireHttp2Sessions(TimeSpan drainTimeout) => Volatile.Read(ref _http2Sessions)?.RetireAll(drainTimeout);

    /// <summary>Idle keep-alive connections to this backend; they survive reloads with the state.</summary>
    internal Transport.BackendConnectionPool IdleConnections { get; } = new();

    /// <summary>
    /// Marks the backend retired, then closes its idle connections. A full fence (Interlocked) before the sweep pairs
    /// with the one in <see cref="Transport.BackendConnectionPool.Return"/>: a connection parked concurrently is either
    /// seen by this sweep or sees the flag itself.
    /// </summary>
    internal void Retire()
    {
        Interlocked.Exchange(ref _retired, 1);
        IdleConnections.CloseIdle(0);
    }

    /// <summary>Counts a request in flight, on the running loop's copy; the token goes back to <see cref="ExitInFlight"/>.</summary>
    public int EnterInFlight() => _inFlight.Enter();

    /// <summary>Ends a request counted with <paramref name="token"/>, on the copy it entered (whichever thread ends it).</summary>
    public void ExitInFlight(int token)
    {
        _inFlight.Exit(token);
        Slots.OnReleased();
    }

    /// <summary>Takes one in-flight slot if fewer than <paramref name="max"/> are taken (lock-free, exact: one shared count).</summary>
    public bool TryEnterInFlight(int max, out int token)
    {
        var entered = _inFlight.TryEnter(max);
        token = entered ?? Counters.LoopGauge.Shared;
        return entered is not null;
    }

    public override string ToString() => Config.Address;
}
