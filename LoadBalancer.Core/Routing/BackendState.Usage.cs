namespace LoadBalancer.Core.Routing;

/// <summary>Per-backend usage counters (Interlocked; they survive reloads with the state).</summary>
public sealed partial class BackendState
{
    private long _requests;
    private long _connectFailures;
    private long _queued;

    /// <summary>The pool's slot signal; set by the snapshot compiler (a backend belongs to one pool).</summary>
    internal BackendSlots Slots { get; set; } = BackendSlots.None;

    /// <summary>Requests answered through this backend (any status).</summary>
    public long Requests => Interlocked.Read(ref _requests);

    public long ConnectFailures => Interlocked.Read(ref _connectFailures);

    /// <summary>Requests that had to wait for a slot of this pool because every backend was at its cap.</summary>
    public long Queued => Interlocked.Read(ref _queued);

    internal void CountRequest() => Interlocked.Increment(ref _requests);

    internal void CountConnectFailure() => Interlocked.Increment(ref _connectFailures);

    internal void CountQueued() => Interlocked.Increment(ref _queued);
}
