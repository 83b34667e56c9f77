using System.Collections.Concurrent;

namespace LoadBalancer.Core.Transport;

/// <summary>
/// Spare objects kept per thread and then in one shared queue, each level capped. Per-thread stacks stay small, so
/// objects taken on one thread and given back on another flow back through the shared queue instead of piling up on
/// the returning thread. No lock; no allocation once warm.
/// </summary>
internal sealed class ObjectCache<T>(int perThread, int shared)
    where T : class
{
    private readonly ThreadLocal<Stack<T>> _local = new(() => new Stack<T>(perThread));
    private readonly ConcurrentQueue<T> _shared = new();
    private int _sharedCount;

    public bool TryTake(out T item)
    {
        if (_local.Value!.TryPop(out item!))
        {
            return true;
        }

        if (_shared.TryDequeue(out item!))
        {
            Interlocked.Decrement(ref _sharedCount);
            return true;
        }

        return false;
    }

    /// <summary>Keeps <paramref name="item"/> unless both levels are full (then the GC gets it).</summary>
    public void Give(T item)
    {
        var local = _local.Value!;
        if (local.Count < perThread)
        {
            local.Push(item);
        }
        else if (Interlocked.Increment(ref _sharedCount) <= shared)
        {
            _shared.Enqueue(item);
        }
        else
        {
            Interlocked.Decrement(ref _sharedCount);
        }
    }
}
