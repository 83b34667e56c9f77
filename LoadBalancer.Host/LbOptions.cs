namespace LoadBalancer.Host;

/// <summary>What the command line decided for this process.</summary>
/// <param name="ConfigPath">lb.toml, as a full path.</param>
/// <param name="Demo">Also start whoami backends on the config's loopback backend addresses.</param>
/// <param name="WatchConfig">Reload when the file changes (<c>--no-watch</c> leaves only SIGHUP and POST /reload).</param>
public sealed record LbOptions(string ConfigPath, bool Demo, bool WatchConfig = true)
{
    /// <summary>Console log format (<c>--log-format</c>).</summary>
    public LogFormat LogFormat { get; init; } = LogFormat.Auto;

    /// <summary>Lowest level logged (<c>--log-level</c>); Debug adds why each request was refused.</summary>
    public Microsoft.Extensions.Logging.LogLevel LogLevel { get; init; } = Microsoft.Extensions.Logging.LogLevel.Information;

    /// <summary>
    /// How long a burst of file events must settle before the file is read: an editor's save is several writes, and
    /// reading between them sees a truncated file. 300 ms keeps a save live well within 1 s.
    /// </summary>
    public TimeSpan FileDebounce { get; init; } = TimeSpan.FromMilliseconds(300);
}
