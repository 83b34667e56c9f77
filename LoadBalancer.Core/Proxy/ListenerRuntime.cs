using LoadBalancer.Core.Routing;

namespace LoadBalancer.Core.Proxy;

/// <summary>
/// The live side of one listener: its socket stays while its <c>listen</c> value is unchanged across reloads, and
/// <see cref="Snapshot"/> is swapped to the new snapshot's listener so the next request routes by the new config.
/// </summary>
internal sealed class ListenerRuntime
{
    private ListenerSnapshot _snapshot;
    private bool _retired;

    public ListenerRuntime(ProxyEngine engine, ListenerSnapshot snapshot)
    {
        Engine = engine;
        _snapshot = snapshot;
    }

    public ProxyEngine Engine { get; }

    /// <summary>A reload removed the listener (or moved it to another address): its connections finish and close.</summary>
    public bool Retired
    {
        get => Volatile.Read(ref _retired);
        set => Volatile.Write(ref _retired, value);
    }

    /// <summary>Connections of this listener take no new requests: lb drains, or the listener was retired.</summary>
    public bool IsClosing => Engine.IsDraining || Retired;

    public ListenerSnapshot Snapshot
    {
        get => Volatile.Read(ref _snapshot);
        set => Volatile.Write(ref _snapshot, value);
    }
}
