using LoadBalancer.Core.Http2;

namespace LoadBalancer.Core.Config;

/// <summary>Compiles a listener's <c>http2 = { ... }</c> settings (validated: every value is in range).</summary>
internal static partial class SnapshotCompiler
{
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
