namespace LoadBalancer.Core.Routing;

/// <summary>
/// The live part of a backend: counters and health that survive reloads (reused by pool name + address),
/// and the idle keep-alive connections to it. Written by the proxy and health checks with Interlocked only.
/// </summary>
public sealed partial class BackendState
{
    private int _inFlight;
    private int _retired;

    public BackendState(Backend config) => Config = config;

    /// <summary>Replaced on reload when the weight changes; readers may see either value.</summary>
    public Backend Config { get; internal set; }

    public int Weight => Config.Weight;

    /// <summary>
    /// Requests currently assigned to this backend (in flight; an L4 tunnel counts as one for its lifetime): what
    /// least-connections balances on and <c>max_connections_per_backend</c> caps. Exported as lb_backend_active_requests.
    /// </summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>
    /// True once a reload removed this backend from every pool. Requests already on it finish, but a connection that
    /// comes back to <see cref="IdleConnections"/> afterwards is closed instead of parked: nothing will rent it again.
    /// </summary>
    public bool IsRetired => Volatile.Read(ref _retired) != 0;

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

    public int EnterInFlight() => Interlocked.Increment(ref _inFlight);

    public int ExitInFlight()
    {
        var active = Interlocked.Decrement(ref _inFlight);
        Slots.OnReleased();
        return active;
    }

    /// <summary>Takes one in-flight slot if fewer than <paramref name="max"/> are taken (lock-free).</summary>
    public bool TryEnterInFlight(int max)
    {
        var current = Volatile.Read(ref _inFlight);
        while (current < max)
        {
            var seen = Interlocked.CompareExchange(ref _inFlight, current + 1, current);
            if (seen == current)
            {
                return true;
            }

            current = seen;
        }

        return false;
    }

    public override string ToString() => Config.Address;
}
