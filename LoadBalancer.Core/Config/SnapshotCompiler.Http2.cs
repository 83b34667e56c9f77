using LoadBalancer.Core.Http2;

namespace LoadBalancer.Core.Config;

/// <summary>Compiles a listener's <c>http2 = { ... }</c> settings (validated: every value is in range).</summary>
internal static partial class SnapshotCompiler
{
    /// <summary>What <c>http2</c> is when an http listener does not set it (issue 16: on once HTTP/2 landed).</summary>
    internal const bool DefaultHttp2 = true;

    /// <summary>
    /// HTTP/2 on the listener: prior knowledge on plain text, and ALPN <c>h2</c> on TLS. A tcp listener relays bytes
    /// and never has it (setting it there is a config error).
    /// </summary>
    private static bool Http2Enabled(LbListenerSection listener)
        => listener.Http2?.Value ?? (DefaultHttp2 && !string.Equals(listener.Protocol?.Value, "tcp", StringComparison.Ordinal));

    private static Http2Options CompileHttp2(LbHttp2Section? section)
    {
        if (section is null)
        {
            return Http2Options.Default;
        }

        var defaults = Http2Options.Default;
        return new Http2Options
        {
            MaxConcurrentStreams = (int)(section.MaxConcurrentStreams?.Value ?? defaults.MaxConcurrentStreams),
            InitialWindowSize = (int)(section.InitialWindowSize?.Value ?? defaults.InitialWindowSize),
            MaxFrameSize = (int)(section.MaxFrameSize?.Value ?? defaults.MaxFrameSize),
            MaxHeaderListSize = (int)(section.MaxHeaderListSize?.Value ?? 0),
        };
    }
}
