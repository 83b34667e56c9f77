namespace LoadBalancer.Core.Routing;

/// <summary>
/// Holds the live <see cref="RuntimeSnapshot"/>. Publishing is one reference swap, so a reader sees either the old
/// or the new snapshot whole; readers take <see cref="Current"/> once per request and keep it for that request.
/// </summary>
public sealed class SnapshotHolder
{
    private RuntimeSnapshot _current;
    private long _generation;

    public SnapshotHolder(RuntimeSnapshot initial) => _current = initial;

    public RuntimeSnapshot Current => Volatile.Read(ref _current);

    /// <summary>Counts publishes; 0 is the initial snapshot.</summary>
    public long Generation => Interlocked.Read(ref _generation);

    /// <summary>Raised after a new snapshot became current (on the publishing thread).</summary>
    public event Action<RuntimeSnapshot>? Published;

    public void Publish(RuntimeSnapshot next)
    {
        ArgumentNullException.ThrowIfNull(next);
        Volatile.Write(ref _current, next);
        Interlocked.Increment(ref _generation);
        Published?.Invoke(next);
    }
}
