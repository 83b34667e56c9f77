using LoadBalancer.Core.Routing;

namespace LoadBalancer.Core.Proxy;

/// <summary>
/// The live side of one listener: its socket stays while its <c>listen</c> value is unchanged across reloads, and
/// <see cref="Snapshot"/> is swapped to the new snapshot's listener so the next request routes by the new config.
/// </summary>
internal sealed class ListenerRuntime
{
    private ListenerSnapshot _snapshot;

    public ListenerRuntime(ProxyEngine engine, ListenerSnapshot snapshot)
    {
        Engine = engine;
        _snapshot = snapshot;
    }

    public ProxyEngine Engine { get; }

    public ListenerSnapshot Snapshot
    {
        get => Volatile.Read(ref _snapshot);
        set => Volatile.Write(ref _snapshot, value);
    }
}
