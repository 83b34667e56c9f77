using System.Globalization;

namespace LoadBalancer.Bench.Load;

/// <summary>/proc/loadavg: how busy the machine was with anything, the bench's own processes included.</summary>
internal static class LoadAverage
{
    /// <summary>The 1, 5 and 15 minute load averages, or empty where /proc/loadavg is missing.</summary>
    public static double[] Read()
    {
        try
        {
            var parts = File.ReadAllText("/proc/loadavg").Split(' ');
            return [double.Parse(parts[0], CultureInfo.InvariantCulture), double.Parse(parts[1], CultureInfo.InvariantCulture), double.Parse(parts[2], CultureInfo.InvariantCulture)];
        }
        catch (IOException)
        {
            return [];
        }
    }

    public static string Format(double[] load)
        => load.Length == 3 ? string.Create(CultureInfo.InvariantCulture, $"{load[0]:0.00} {load[1]:0.00} {load[2]:0.00}") : "-";
}
