using LoadBalancer.Core.Health;

namespace LoadBalancer.Core.Routing;

/// <summary>
/// The live part of a pool: what requests change while they run. It is kept across reloads by pool name, like
/// <see cref="BackendState"/>, so the immutable <see cref="PoolSnapshot"/> that refers to it can be swapped without
/// handing out a fresh retry window or forgetting the requests that wait for a backend slot.
/// </summary>
public sealed class PoolState
{
    private int _panicRotation = -1;

    internal PoolState(RetryBudget retryBudget) => RetryBudget = retryBudget;

    /// <summary>Retry budget counters; the ratio is the snapshot's (<see cref="RetrySettings.Budget"/>).</summary>
    internal RetryBudget RetryBudget { get; }

    /// <summary>
    /// Where requests waiting for a backend slot are woken. One per pool for its whole life, capped or not (a release
    /// signals only when someone waits), so a reload that changes <c>max_connections_per_backend</c> swaps nothing.
    /// </summary>
    internal BackendSlots Slots { get; } = new();

    /// <summary>The next start of the panic rotation (all_down = "try-all").</summary>
    internal int NextPanicStart(int backendCount) => (int)((uint)Interlocked.Increment(ref _panicRotation) % (uint)backendCount);
}
