namespace LoadBalancer.Core.Config;

/// <summary>
/// A listener's <c>http2</c> when written as a table (<c>http2 = { max_concurrent_streams = 100, ... }</c>) rather
/// than a boolean: the SETTINGS lb advertises and enforces on the listener's HTTP/2 connections.
/// </summary>
internal sealed class LbHttp2Section
{
    public required string Path { get; init; }

    public SourcePosition Position { get; init; }

    public ConfigValue<bool>? Enabled { get; set; }

    public ConfigValue<long>? MaxConcurrentStreams { get; set; }

    public ConfigValue<long>? InitialWindowSize { get; set; }

    public ConfigValue<long>? MaxFrameSize { get; set; }

    public ConfigValue<long>? MaxHeaderListSize { get; set; }
}
