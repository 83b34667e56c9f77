namespace LoadBalancer.Core.Consumers;

/// <summary>A quota's period (<c>quota.period</c>); every period starts and ends on a UTC calendar boundary.</summary>
public enum QuotaPeriod
{
    Minute,
    Hour,
    Day,
    Month,
}

/// <summary>The calendar arithmetic of <see cref="QuotaPeriod"/>, in UTC.</summary>
public static class QuotaPeriods
{
    public static string Name(QuotaPeriod period) => period switch
    {
        QuotaPeriod.Minute => "minute",
        QuotaPeriod.Hour => "hour",
        QuotaPeriod.Day => "day",
        _ => "month",
    };

    public static QuotaPeriod Parse(string name) => name switch
    {
        "minute" => QuotaPeriod.Minute,
        "hour" => QuotaPeriod.Hour,
        "day" => QuotaPeriod.Day,
        "month" => QuotaPeriod.Month,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "not a quota period"),
    };

    /// <summary>The start of the period that holds <paramref name="utc"/>: 12:34:56 is 12:34:00 (minute), 12:00 (hour), ...</summary>
    public static DateTime StartOf(QuotaPeriod period, DateTime utc) => period switch
    {
        QuotaPeriod.Minute => new DateTime(utc.Year, utc.Month, utc.Day, utc.Hour, utc.Minute, 0, DateTimeKind.Utc),
        QuotaPeriod.Hour => new DateTime(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, DateTimeKind.Utc),
        QuotaPeriod.Day => new DateTime(utc.Year, utc.Month, utc.Day, 0, 0, 0, DateTimeKind.Utc),
        _ => new DateTime(utc.Year, utc.Month, 1, 0, 0, 0, DateTimeKind.Utc),
    };

    /// <summary>The start of the next period after the one starting at <paramref name="start"/>.</summary>
    public static DateTime Next(QuotaPeriod period, DateTime start) => period switch
    {
        QuotaPeriod.Minute => start.AddMinutes(1),
        QuotaPeriod.Hour => start.AddHours(1),
        QuotaPeriod.Day => start.AddDays(1),
        _ => start.AddMonths(1),
    };
}
