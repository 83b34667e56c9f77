namespace LoadBalancer.Core.Http2;

/// <summary>
/// The settings an HTTP/2 listener advertises and enforces (lb.toml <c>http2 = { ... }</c>). The defaults suit a
/// proxy: the protocol's 64 KiB stream window bounds what one stream can make lb hold before its backend connection is
/// there, and the connection window (at least 1 MiB) lets 16 such uploads proceed at once.
/// </summary>
public sealed record Http2Options
{
    public static readonly Http2Options Default = new();

    public int MaxConcurrentStreams { get; init; } = 100;

    /// <summary>The receive window of each stream (SETTINGS_INITIAL_WINDOW_SIZE).</summary>
    public int InitialWindowSize { get; init; } = 65_535;

    /// <summary>The largest frame payload lb accepts (SETTINGS_MAX_FRAME_SIZE).</summary>
    public int MaxFrameSize { get; init; } = 16_384;

    /// <summary>The decoded header list size lb accepts (SETTINGS_MAX_HEADER_LIST_SIZE); 0 means the listener's max_head_bytes.</summary>
    public int MaxHeaderListSize { get; init; }

    public int ConnectionReceiveWindow => Math.Max(1 << 20, InitialWindowSize);
}
