namespace LoadBalancer.Core.Dashboard;

/// <summary>
/// lb's own process as the dashboard shows it: CPU (share of every core), working set, GC heap, allocation rate, GC
/// counts and thread-pool threads, read once per sampler tick (reading /proc is not for the request path). It reads
/// <see cref="Environment"/>, not a <see cref="System.Diagnostics.Process"/>: a disposed Process object throws from a
/// tick that was already running when lb stopped, and a timer callback's exception ends the process.
/// </summary>
internal sealed class ProcessMeter
{
    public const int CpuField = 0, WorkingSetField = 1, AllocatedField = 2, Fields = 3;

    private TimeSpan _cpu;
    private long _allocated;
    private bool _primed;

    /// <summary>Percent of all cores (100 = every core busy).</summary>
    public double CpuPercent { get; private set; }

    public long WorkingSetBytes { get; private set; }

    public long HeapBytes { get; private set; }

    public double AllocatedBytesPerSecond { get; private set; }

    public int Gen0 { get; private set; }

    public int Gen1 { get; private set; }

    public int Gen2 { get; private set; }

    public double GcPausePercent { get; private set; }

    public int ThreadPoolThreads { get; private set; }

    public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;

    private TimeSpan _pause;

    public void Sample(double seconds)
    {
        var cpu = Environment.CpuUsage.TotalTime;
        var allocated = GC.GetTotalAllocatedBytes(precise: false);
        var pause = GC.GetTotalPauseDuration();
        if (_primed && seconds > 0)
        {
            CpuPercent = (cpu - _cpu).TotalSeconds / seconds / Environment.ProcessorCount * 100;
            AllocatedBytesPerSecond = (allocated - _allocated) / seconds;
            GcPausePercent = (pause - _pause).TotalSeconds / seconds * 100;
        }

        _primed = true;
        _cpu = cpu;
        _allocated = allocated;
        _pause = pause;
        WorkingSetBytes = Environment.WorkingSet;
        HeapBytes = GC.GetTotalMemory(forceFullCollection: false);
        Gen0 = GC.CollectionCount(0);
        Gen1 = GC.CollectionCount(1);
        Gen2 = GC.CollectionCount(2);
        ThreadPoolThreads = ThreadPool.ThreadCount;
    }

    public void Fill(Span<float> row)
    {
        row[CpuField] = (float)CpuPercent;
        row[WorkingSetField] = WorkingSetBytes;
        row[AllocatedField] = (float)AllocatedBytesPerSecond;
    }
}
