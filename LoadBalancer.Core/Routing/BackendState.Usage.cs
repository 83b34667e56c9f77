namespace LoadBalancer.Core.Routing;

/// <summary>Per-backend usage counters (Interlocked; they survive reloads with the state).</summary>
public sealed partial class BackendState
{
    private readonly Counters.LoopCounters _requests = new(1);
    private long _connectFailures;
    private long _tlsFailures;
    private long _queued;
    private readonly long[] _discarded = new long[DiscardReasons.Count];

    /// <summary>The pool's slot signal; set by the snapshot compiler (a backend belongs to one pool).</summary>
    internal BackendSlots Slots { get; set; } = BackendSlots.None;

    /// <summary>Requests answered through this backend (any status).</summary>
    public long Requests => _requests.Sum(0);

    public long ConnectFailures => Interlocked.Read(ref _connectFailures);

    /// <summary>TLS handshakes to this backend that failed (verification or otherwise); each is also a connect failure.</summary>
    public long TlsFailures => Interlocked.Read(ref _tlsFailures);

    internal void CountTlsFailure() => Interlocked.Increment(ref _tlsFailures);

    /// <summary>Requests that had to wait for a slot of this pool because every backend was at its cap.</summary>
    public long Queued => Interlocked.Read(ref _queued);

    /// <summary>Backend connections closed instead of kept, for <paramref name="reason"/> (a <see cref="DiscardReason"/>).</summary>
    public long Discarded(int reason) => Interlocked.Read(ref _discarded[reason]);

    internal void CountDiscarded(DiscardReason reason) => Interlocked.Increment(ref _discarded[(int)reason]);

    internal void CountRequest() => _requests.Add(0, 1);

    internal void CountConnectFailure() => Interlocked.Increment(ref _connectFailures);

    internal void CountQueued() => Interlocked.Increment(ref _queued);
}
