namespace LoadBalancer.Core.Routing;

/// <summary>
/// The live part of a backend: counters and health that survive reloads (reused by pool name + address),
/// and the idle keep-alive connections to it. Written by the proxy and health checks with Interlocked only.
/// </summary>
public sealed partial class BackendState
{
    private int _activeConnections;

    public BackendState(Backend config) => Config = config;

    /// <summary>Replaced on reload when the weight changes; readers may see either value.</summary>
    public Backend Config { get; internal set; }

    public int Weight => Config.Weight;

    /// <summary>Requests currently assigned to this backend (in flight); what least-connections balances on.</summary>
    public int ActiveConnections => Volatile.Read(ref _activeConnections);

    /// <summary>Idle keep-alive connections to this backend; they survive reloads with the state.</summary>
    internal Transport.BackendConnectionPool IdleConnections { get; } = new();

    public int IncrementActive() => Interlocked.Increment(ref _activeConnections);

    public int DecrementActive() => Interlocked.Decrement(ref _activeConnections);

    public override string ToString() => Config.Address;
}
