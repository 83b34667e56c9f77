using System.Diagnostics;
using System.Globalization;
using System.Net;
using LoadBalancer.Core.Balancing;
using LoadBalancer.Core.Config;
using Tomlyn.Parsing;

namespace LoadBalancer.Bench.Load;

/// <summary>
/// <c>scale --profile</c>: the stages of loading the many-tenant file in this process, each timed (best of
/// <c>rounds</c>) with the bytes it allocated, so a regression shows which stage it is in.
/// </summary>
internal static class ScaleProfile
{
    public static void Run(int tenants, int rounds, bool reloadsOnly = false)
    {
        var text = ScaleConfig.Lb(tenants, 8080, 8081, [new IPEndPoint(IPAddress.Loopback, 9001), new IPEndPoint(IPAddress.Loopback, 9002)]);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"profile: {tenants} tenants, {text.Length / 1e6:0.00} MB of TOML"));
        if (reloadsOnly)
        {
            // As lb starts: one load, then one compacting collection before serving (LbRunner.Prepare).
            var first = new RuntimeSnapshotHolder(ConfigLoader.LoadText(text, "lb.toml").Snapshot!);
            System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  RSS with one snapshot after a compacting GC: {Environment.WorkingSet / 1e6:0} MB"));
            using (var sampler = new AllocationSampler())
            {
                Reloads(tenants, text, first, count: 10);
                sampler.Print(top: 25);
            }

            return;
        }

        Stage("Tomlyn parse (no validation)", rounds, () => SyntaxParser.Parse(text, "lb.toml", validate: false));
        Stage("Tomlyn parse (validate)", rounds, () => SyntaxParser.Parse(text, "lb.toml", validate: true));
        var document = SyntaxParser.Parse(text, "lb.toml", validate: true);
        Stage("tree", rounds, () => TomlConfigLoader.BuildTree(document));
        Stage("fast tree (event parser)", rounds, () => TomlConfigLoader.TryBuildTreeFast(text));
        Stage("TomlConfigLoader.TryLoadFast (tree + read)", rounds, () => TomlConfigLoader.TryLoadFast(text, "lb.toml"));
        Stage("TomlConfigLoader.Load (syntax-tree path, errors)", rounds, () => TomlConfigLoader.Load(text, new ConfigErrorList("lb.toml")));
        var file = TomlConfigLoader.TryLoadFast(text, "lb.toml") ?? throw new InvalidOperationException("the fast path refused the generated file");
        Stage("validate", rounds, () => ConfigValidator.Validate(file, BalancerRegistry.Default, new ConfigErrorList("lb.toml")));
        Stage("compile (no previous)", rounds, () => SnapshotCompiler.Compile(file, "lb.toml", null, BalancerRegistry.Default));
        var previous = SnapshotCompiler.Compile(file, "lb.toml", null, BalancerRegistry.Default);
        Stage("compile (with previous, full)", rounds, () => SnapshotCompiler.Compile(file, "lb.toml", previous, BalancerRegistry.Default, incremental: false));
        var changed = TomlConfigLoader.TryLoadFast(Changed(tenants), "lb.toml")!;
        ConfigValidator.Validate(changed, BalancerRegistry.Default, new ConfigErrorList("lb.toml"));
        Stage("compile (with previous, incremental, 1 tenant changed)", rounds, () => SnapshotCompiler.Compile(changed, "lb.toml", previous, BalancerRegistry.Default));
        Stage("ConfigLoader.LoadText (whole reload load)", rounds, () => ConfigLoader.LoadText(text, "lb.toml", previous));
        // As a reload runs in lb: against a snapshot that LoadText made, whose parsed elements the reload reuses.
        var loadedLive = ConfigLoader.LoadText(text, "lb.toml").Snapshot!;
        var changedText = Changed(tenants);
        Stage("ConfigLoader.LoadText (reload, 1 tenant changed)", rounds, () => ConfigLoader.LoadText(changedText, "lb.toml", loadedLive));
        loadedLive = null;
        GC.Collect();
        var before = GC.GetTotalMemory(true);
        var loaded = ConfigLoader.LoadText(text, "lb.toml");
        var kept = new RuntimeSnapshotHolder(loaded.Snapshot ?? throw new InvalidOperationException($"the generated file did not load: {string.Join("; ", loaded.Errors.Take(3))}"));
        loaded = null;
        var after = GC.GetTotalMemory(true);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  one live snapshot: {(after - before) / 1e6,8:0.0} MB of managed heap ({kept.Snapshot.Tenants.Count} tenants)"));
        Reloads(tenants, text, kept, count: 10);
    }

    /// <summary>
    /// Reloads as lb runs them (each compiled against the live snapshot, which it then replaces) on a thread-pool
    /// thread, while a probe thread that wakes every millisecond records its longest gap: a GC pause stops it too, so
    /// the gap is what a loop thread would have waited. Run it with lb's runtime settings (DOTNET_GCgen0size=0x100000,
    /// DOTNET_gcConcurrent as lb.runtimeconfig.json has it) to see lb's pauses.
    /// </summary>
    private static void Reloads(int tenants, string text, RuntimeSnapshotHolder live, int count)
    {
        var gcBefore = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        var pauseBefore = GC.GetTotalPauseDuration();
        var stop = false;
        double worstGapMs = 0;
        var worstPause = new double[4]; // gen0, gen1, blocking gen2, background gen2: the longest pause seen of each
        var probe = new Thread(() =>
        {
            var last = Stopwatch.GetTimestamp();
            long seen = GC.GetGCMemoryInfo(GCKind.Any).Index;
            while (!Volatile.Read(ref stop))
            {
                Thread.Sleep(1);
                var now = Stopwatch.GetTimestamp();
                worstGapMs = Math.Max(worstGapMs, Stopwatch.GetElapsedTime(last, now).TotalMilliseconds);
                last = now;
                var info = GC.GetGCMemoryInfo(GCKind.Any);
                if (info.Index != seen)
                {
                    seen = info.Index;
                    var kind = info.Concurrent ? 3 : Math.Min(info.Generation, 2);
                    var pause = info.PauseDurations[0].TotalMilliseconds + info.PauseDurations[1].TotalMilliseconds;
                    worstPause[kind] = Math.Max(worstPause[kind], pause);
                }
            }
        }) { IsBackground = true };
        probe.Start();
        // As the bench's reloads: the last tenant's rate_limit flips between two values, so one tenant changes each time.
        string[] texts = [text, Changed(tenants)];
        var times = new List<double>();
        long peakRss = 0;
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < count; i++)
        {
            var one = Stopwatch.GetTimestamp();
            Task.Run(() =>
            {
                var loaded = ConfigLoader.LoadText(texts[(i + 1) % 2], "lb.toml", live.Snapshot);
                live.Snapshot = loaded.Snapshot ?? throw new InvalidOperationException("a reload did not load");
            }).Wait();
            times.Add(Stopwatch.GetElapsedTime(one).TotalMilliseconds);
            peakRss = Math.Max(peakRss, Environment.WorkingSet);
        }

        var total = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        Volatile.Write(ref stop, true);
        probe.Join();
        var pause = (GC.GetTotalPauseDuration() - pauseBefore).TotalMilliseconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {count} reloads (thread pool): mean {times.Average():0} ms, max {times.Max():0} ms; GCs gen0 {GC.CollectionCount(0) - gcBefore.Item1}, gen1 {GC.CollectionCount(1) - gcBefore.Item2}, gen2 {GC.CollectionCount(2) - gcBefore.Item3}; "
            + $"GC pause {pause:0} ms ({100 * pause / total:0}% of the time); longest stall of a 1 ms probe thread {worstGapMs:0.0} ms; longest pause seen per kind (gen0/gen1/gen2/background gen2) {string.Join(" / ", worstPause.Select(p => p.ToString("0.0", CultureInfo.InvariantCulture)))} ms; peak RSS {peakRss / 1e6:0} MB; "
            + $"GC settings: concurrent {System.Runtime.GCSettings.LatencyMode != System.Runtime.GCLatencyMode.Batch}, gen0size {Environment.GetEnvironmentVariable("DOTNET_GCgen0size") ?? "default"}"));
    }

    private static string Changed(int tenants)
        => ScaleConfig.Lb(tenants, 8080, 8081, [new IPEndPoint(IPAddress.Loopback, 9001), new IPEndPoint(IPAddress.Loopback, 9002)], changedRateLimit: 7);

    /// <summary>The snapshot a run of reloads replaces one after another, held by one reference as lb's holder does.</summary>
    private sealed class RuntimeSnapshotHolder(LoadBalancer.Core.Routing.RuntimeSnapshot snapshot)
    {
        public LoadBalancer.Core.Routing.RuntimeSnapshot Snapshot { get; set; } = snapshot;
    }

    private static void Stage(string name, int rounds, Action action)
    {
        var best = double.MaxValue;
        var bestCpu = double.MaxValue;
        var bestPause = double.MaxValue;
        long allocated = 0;
        for (var i = 0; i < rounds; i++)
        {
            var bytes = GC.GetAllocatedBytesForCurrentThread();
            var pause = GC.GetTotalPauseDuration();
            var cpu = ThreadCpuMs();
            var started = Stopwatch.GetTimestamp();
            action();
            best = Math.Min(best, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            bestCpu = Math.Min(bestCpu, ThreadCpuMs() - cpu);
            bestPause = Math.Min(bestPause, (GC.GetTotalPauseDuration() - pause).TotalMilliseconds);
            allocated = GC.GetAllocatedBytesForCurrentThread() - bytes;
        }

        // Wall time is only as good as the machine's load; the thread's CPU time (without the GC's own threads) and the
        // GC pauses inside the stage are what to compare between runs.
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name,-44} {best,8:0.0} ms  cpu {bestCpu,7:0.0} ms  gc pause {bestPause,6:0.0} ms  {allocated / 1e6,8:0.0} MB allocated"));
    }

    /// <summary>CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID), in ms; 0 where there is no such clock.</summary>
    private static double ThreadCpuMs()
    {
        if (!OperatingSystem.IsLinux())
        {
            return 0;
        }

        ClockGetTime(3, out var time);
        return time.Seconds * 1e3 + time.Nanoseconds / 1e6;
    }

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);

    /// <summary>
    /// The runtime's allocation ticks (one event per ~100 KB allocated, naming the type that crossed it), summed per
    /// type: which objects a reload allocates most of.
    /// </summary>
    private sealed class AllocationSampler : System.Diagnostics.Tracing.EventListener
    {
        private readonly Dictionary<string, long> _bytes = [];

        protected override void OnEventSourceCreated(System.Diagnostics.Tracing.EventSource source)
        {
            if (source.Name == "Microsoft-Windows-DotNETRuntime")
            {
                EnableEvents(source, System.Diagnostics.Tracing.EventLevel.Verbose, (System.Diagnostics.Tracing.EventKeywords)0x1);
            }
        }

        protected override void OnEventWritten(System.Diagnostics.Tracing.EventWrittenEventArgs e)
        {
            if (e.EventName?.StartsWith("GCAllocationTick", StringComparison.Ordinal) == true && e.Payload is { } payload && e.PayloadNames is { } names)
            {
                var type = payload[names.IndexOf("TypeName")] as string ?? "?";
                var amount = Convert.ToInt64(payload[names.IndexOf("AllocationAmount64")], CultureInfo.InvariantCulture);
                lock (_bytes)
                {
                    _bytes[type] = _bytes.GetValueOrDefault(type) + amount;
                }
            }
        }

        public void Print(int top)
        {
            lock (_bytes)
            {
                var total = _bytes.Values.Sum();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  allocated by type (sampled, {total / 1e6:0} MB in all):"));
                foreach (var (type, bytes) in _bytes.OrderByDescending(p => p.Value).Take(top))
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    {bytes / 1e6,8:0.0} MB  {type}"));
                }
            }
        }
    }
}
