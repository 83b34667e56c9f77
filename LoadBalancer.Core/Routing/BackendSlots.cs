namespace LoadBalancer.Core.Routing;

/// <summary>
/// Wakes requests waiting for a backend slot under <c>max_connections_per_backend</c>. Only the overload path touches
/// it: a waiter registers, re-checks, then waits; a release signals only when someone is registered. Because both sides
/// publish before they look (Interlocked), a release is never lost; a spare signal only costs a waiter one re-check.
/// </summary>
public sealed class BackendSlots
{
    /// <summary>For pools without a cap: releasing never signals.</summary>
    public static readonly BackendSlots None = new();

    private readonly SemaphoreSlim _signal = new(0, int.MaxValue);
    private int _waiters;

    internal int Waiters => Volatile.Read(ref _waiters);

    internal void OnReleased()
    {
        // Every waiter re-checks: the freed slot goes to the waiting tenant with the fewest requests in flight, which
        // need not be the first one in line (see BackendConnector.WaitForBackendSlotAsync).
        var waiters = Volatile.Read(ref _waiters);
        if (waiters > 0)
        {
            _signal.Release(waiters);
        }
    }

    internal void Register() => Interlocked.Increment(ref _waiters);

    internal void Unregister() => Interlocked.Decrement(ref _waiters);

    /// <summary>Waits for a release signal or the timeout; the caller re-checks either way.</summary>
    internal Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _signal.WaitAsync(timeout, cancellationToken);
}
