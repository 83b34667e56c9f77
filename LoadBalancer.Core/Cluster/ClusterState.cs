namespace LoadBalancer.Core.Cluster;

/// <summary>
/// The live side of <c>[cluster]</c>, carried across reloads like a tenant's counters: whether Redis answered the
/// last sync round, and the instance count it last reported (1 until it ever answers). Written by
/// <see cref="ClusterSync"/> alone; read by metrics and by the compiler (a new tenant's fallback share).
/// </summary>
public sealed class ClusterState
{
    private int _instances = 1;
    private int _redisUp;
    private long _rounds;
    private long _failures;

    /// <summary>Live instances (this one included) at the last round Redis answered; 1 before any.</summary>
    public int Instances => Volatile.Read(ref _instances);

    /// <summary>True while the last sync round was answered.</summary>
    public bool RedisUp => Volatile.Read(ref _redisUp) == 1;

    /// <summary>Sync rounds Redis answered.</summary>
    public long Rounds => Interlocked.Read(ref _rounds);

    /// <summary>Sync rounds that failed (not connected, timed out, an error reply).</summary>
    public long Failures => Interlocked.Read(ref _failures);

    internal void Answered(int instances)
    {
        Volatile.Write(ref _instances, Math.Max(1, instances));
        Volatile.Write(ref _redisUp, 1);
        Interlocked.Increment(ref _rounds);
    }

    internal void Failed()
    {
        Volatile.Write(ref _redisUp, 0);
        Interlocked.Increment(ref _failures);
    }
}
