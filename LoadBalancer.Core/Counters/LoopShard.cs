namespace LoadBalancer.Core.Counters;

/// <summary>
/// Which per-loop copy of a counter the running thread writes: an epoll loop thread its own (index = its loop's
/// number), every other thread (.NET's engine, the thread pool, tests) one shared last copy. The loops mark their
/// threads when they start; nothing else about an engine is known here, so Tenancy and Routing can shard their
/// counters without depending on Transport.
/// </summary>
internal static class LoopShard
{
    // Loop number + 1 on a loop thread, 0 elsewhere.
    [ThreadStatic]
    private static int t_loop;

    // The most loops any engine of this process has (a sizing hint only: shard arrays made before a bigger engine
    // came send its extra loops to the shared copy, which is still correct, just shared).
    private static int s_loops = Math.Max(1, Environment.ProcessorCount);

    /// <summary>Length of a shard array made now: one copy per loop, plus the shared one.</summary>
    public static int ArrayLength => Volatile.Read(ref s_loops) + 1;

    /// <summary>Called by an engine as it creates <paramref name="loops"/> loops.</summary>
    public static void EnsureLoops(int loops) => RaiseTo(ref s_loops, loops);

    /// <summary>Sets <paramref name="target"/> to <paramref name="value"/> if that is more (lock-free).</summary>
    public static void RaiseTo(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    /// <summary>Called by a loop's thread as it starts (and with -1 as it ends).</summary>
    public static void MarkThread(int loopIndex) => t_loop = loopIndex + 1;

    /// <summary>The running thread's copy in an array of <paramref name="length"/> copies.</summary>
    public static int IndexFor(int length)
    {
        var index = t_loop - 1;
        return (uint)index < (uint)(length - 1) ? index : length - 1;
    }

    /// <summary>The running thread's loop number, or -1 off every loop.</summary>
    public static int CurrentLoop => t_loop - 1;
}
