namespace LoadBalancer.Core.Counters;

/// <summary>
/// A fixed set of <c>long</c> counters, kept once per event loop (and once for every other thread): a request adds to
/// its loop's copy, on cache lines no other loop writes, and readers (metrics, usage, the dashboard) sum the copies.
/// A hot tenant's counters therefore cost each loop an uncontended Interlocked add instead of one cache line that
/// every core takes in turn. Copies are made at a loop's first add (an idle tenant or backend has none), each padded by
/// a cache line on both sides so that neighbours in memory (another loop's copy after a compacting GC) never share its
/// lines. Adds are Interlocked, so a copy written by a thread it does not belong to stays exact; a sum read while
/// requests run is, as with one shared counter, the value at some instant for each copy.
/// </summary>
internal sealed class LoopCounters
{
    // Before the first counter and after the last: 8 longs, one cache line.
    private const int Pad = 8;

    private long[]?[]? _shards;

    public LoopCounters(int width) => Width = width;

    public int Width { get; }

    /// <summary>Adds <paramref name="value"/> to counter <paramref name="index"/> of the running thread's copy.</summary>
    public void Add(int index, long value) => Interlocked.Add(ref Local()[Pad + index], value);

    /// <summary>Adds one to counter <paramref name="index"/> of the running thread's copy; its new value in that copy.</summary>
    public long Increment(int index) => Interlocked.Increment(ref Local()[Pad + index]);

    /// <summary>The running thread's copy (made at its first use), for several adds in a row: use Interlocked on its elements.</summary>
    public Span<long> LocalCopy() => Local().AsSpan(Pad, Width);

    /// <summary>Adds to the running thread's copy, and returns which copy that was (for <see cref="AddAt"/>).</summary>
    public int AddHere(int index, long value)
    {
        var shards = Volatile.Read(ref _shards) ?? CreateShards();
        var shard = LoopShard.IndexFor(shards.Length);
        Interlocked.Add(ref (Volatile.Read(ref shards[shard]) ?? CreateShard(shards, shard))[Pad + index], value);
        return shard;
    }

    /// <summary>Adds to copy <paramref name="shard"/>, as returned by <see cref="AddHere"/>: from whichever thread.</summary>
    public void AddAt(int shard, int index, long value)
    {
        var shards = Volatile.Read(ref _shards) ?? CreateShards();
        Interlocked.Add(ref (Volatile.Read(ref shards[shard]) ?? CreateShard(shards, shard))[Pad + index], value);
    }

    /// <summary>The sum of counter <paramref name="index"/> over every copy.</summary>
    public long Sum(int index)
    {
        var shards = Volatile.Read(ref _shards);
        if (shards is null)
        {
            return 0;
        }

        long total = 0;
        foreach (var shard in shards)
        {
            if (shard is not null)
            {
                total += Volatile.Read(ref shard[Pad + index]);
            }
        }

        return total;
    }

    /// <summary>Counter <paramref name="index"/> in the running thread's copy only (0 before its first add).</summary>
    public long Here(int index)
    {
        var shards = Volatile.Read(ref _shards);
        if (shards is null)
        {
            return 0;
        }

        var shard = Volatile.Read(ref shards[LoopShard.IndexFor(shards.Length)]);
        return shard is null ? 0 : Volatile.Read(ref shard[Pad + index]);
    }

    /// <summary>
    /// Copy <paramref name="shard"/> (0..<see cref="CopySlots"/>-1) for a reader that needs a copy's counters together,
    /// or empty when that copy was never made. Plain reads: the owner may be adding meanwhile.
    /// </summary>
    public ReadOnlySpan<long> Copy(int shard)
        => Volatile.Read(ref _shards) is { } shards && Volatile.Read(ref shards[shard]) is { } copy ? copy.AsSpan(Pad, Width) : default;

    /// <summary>How many copies there may be (0 before the first add).</summary>
    public int CopySlots => Volatile.Read(ref _shards)?.Length ?? 0;

    /// <summary>How many copies exist (loops that added, plus the shared one once another thread did); for tests and status pages.</summary>
    public int CopiesMade
    {
        get
        {
            var count = 0;
            foreach (var shard in Volatile.Read(ref _shards) ?? [])
            {
                count += shard is null ? 0 : 1;
            }

            return count;
        }
    }

    private long[] Local()
    {
        var shards = Volatile.Read(ref _shards) ?? CreateShards();
        var index = LoopShard.IndexFor(shards.Length);
        return Volatile.Read(ref shards[index]) ?? CreateShard(shards, index);
    }

    private long[]?[] CreateShards()
        => Interlocked.CompareExchange(ref _shards, new long[]?[LoopShard.ArrayLength], null) ?? _shards!;

    private long[] CreateShard(long[]?[] shards, int index)
        => Interlocked.CompareExchange(ref shards[index], new long[Width + (2 * Pad)], null) ?? shards[index]!;
}
