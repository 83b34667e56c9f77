namespace LoadBalancer.Core.Usage;

/// <summary><c>[usage]</c>: where the ledger is, how long rows are kept, how often the writer flushes.</summary>
public sealed record UsageLedgerSettings
{
    public static readonly TimeSpan DefaultRetention = TimeSpan.FromDays(400);
    public static readonly TimeSpan DefaultFlushInterval = TimeSpan.FromSeconds(1);

    /// <summary>The database file, resolved against lb.toml's directory.</summary>
    public required string Path { get; init; }

    public TimeSpan Retention { get; init; } = DefaultRetention;

    public TimeSpan FlushInterval { get; init; } = DefaultFlushInterval;
}
