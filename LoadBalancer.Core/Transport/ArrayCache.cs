namespace LoadBalancer.Core.Transport;

/// <summary>
/// Arrays of one length in an <see cref="ObjectCache{T}"/>. <see cref="System.Buffers.ArrayPool{T}.Shared"/> keeps at
/// most about 32 arrays per size per core, so with more requests in flight than that every extra rent was a fresh
/// array (measured: 2.3 GB/s allocated and 7% of the time in GC pauses at 75k req/s on 64 connections). Here the
/// cache grows to the engine's concurrency, up to the caps, so steady load allocates nothing.
/// </summary>
internal sealed class ArrayCache<T>(int length, int perThread, int shared)
{
    private readonly ObjectCache<T[]> _cache = new(perThread, shared);

    public int Length => length;

    public T[] Rent() => _cache.TryTake(out var array) ? array : GC.AllocateUninitializedArray<T>(length);

    /// <summary>Only arrays of exactly <see cref="Length"/>; the caller checked.</summary>
    public void Return(T[] array) => _cache.Give(array);
}
