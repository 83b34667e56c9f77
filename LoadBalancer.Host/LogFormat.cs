namespace LoadBalancer.Host;

/// <summary>How the console log is written (<c>--log-format</c>); each is a Microsoft.Extensions.Logging console formatter.</summary>
public enum LogFormat
{
    /// <summary>systemd's journal format under systemd (priority prefix, no timestamp: the journal adds one), else <see cref="Simple"/>.</summary>
    Auto,

    /// <summary>One line per entry: timestamp, level, category and event id, message.</summary>
    Simple,

    /// <summary>One JSON object per line, for log shippers.</summary>
    Json,

    /// <summary>The journal format, also outside systemd.</summary>
    Systemd,
}
