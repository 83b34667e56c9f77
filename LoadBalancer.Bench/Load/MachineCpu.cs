using System.Globalization;

namespace LoadBalancer.Bench.Load;

/// <summary>
/// Per-CPU busy time from <c>/proc/stat</c> (everything but idle and iowait), to show how much of each core the whole
/// machine used during a window. On a shared machine, a proxy at 0.5 cores on a CPU that was 100% busy was starved by
/// other work, not idle.
/// </summary>
internal readonly record struct MachineCpu(long[] Busy, long[] Total)
{
    /// <summary>CPUs of the machine (lines of /proc/stat), whatever this process is pinned to; at least 1.</summary>
    public static int Count => Math.Max(1, Read().Busy.Length);

    public static MachineCpu Read()
    {
        var busy = new List<long>();
        var total = new List<long>();
        try
        {
            foreach (var line in File.ReadLines("/proc/stat"))
            {
                if (!line.StartsWith("cpu", StringComparison.Ordinal) || line.Length < 4 || !char.IsAsciiDigit(line[3]))
                {
                    continue;
                }

                // cpuN user nice system idle iowait irq softirq steal ...
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8)
                    .Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
                var sum = fields.Sum();
                total.Add(sum);
                busy.Add(sum - fields[3] - fields[4]);
            }
        }
        catch (IOException)
        {
            // Not Linux, or no /proc: the report leaves the column empty.
        }

        return new MachineCpu([.. busy], [.. total]);
    }

    /// <summary>Busy fraction of each CPU between <paramref name="before"/> and this reading.</summary>
    public double[] BusySince(MachineCpu before)
    {
        var count = Math.Min(Busy.Length, before.Busy.Length);
        var result = new double[count];
        for (var i = 0; i < count; i++)
        {
            var total = Total[i] - before.Total[i];
            result[i] = total <= 0 ? 0 : (Busy[i] - before.Busy[i]) / (double)total;
        }

        return result;
    }

    /// <summary>Each CPU's busy fraction as a percentage, e.g. <c>98/47%</c>; <c>-</c> when /proc/stat was not readable.</summary>
    public static string FormatBusy(double[] busy)
        => busy.Length == 0 ? "-" : string.Join('/', busy.Select(b => (b * 100).ToString("0", CultureInfo.InvariantCulture))) + "%";
}
