namespace LoadBalancer.Core.Tenancy;

/// <summary>Status classes the usage counters keep: 1xx..5xx, and "none" when the client got no status line at all.</summary>
public static class StatusClasses
{
    public const int Count = 6;

    public const int None = 0;

    private static readonly string[] Names = ["none", "1xx", "2xx", "3xx", "4xx", "5xx"];

    public static int Of(int status) => status is >= 100 and <= 599 ? status / 100 : None;

    public static string Name(int statusClass) => Names[statusClass];

    /// <summary>The sum of the per-status-class counters at indexes 0..Count-1 of <paramref name="counters"/>, over every loop.</summary>
    internal static long Total(Counters.LoopCounters counters)
    {
        long total = 0;
        for (var i = 0; i < Count; i++)
        {
            total += counters.Sum(i);
        }

        return total;
    }
}
