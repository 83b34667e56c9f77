namespace LoadBalancer.Core.Config;

/// <summary>Checks a listener's <c>http2</c> settings against the limits RFC 9113 section 6.5.2 puts on them.</summary>
internal static partial class ConfigValidator
{
    // A stream budget far past what a browser or gRPC channel opens, yet small enough that the Rapid Reset bucket
    // (twice this many early resets) stays a meaningful bound.
    private const long MaxHttp2Streams = 10_000;

    private static void ValidateListenerHttp2(LbListenerSection listener, ListenerInfo info, ConfigErrorList errors)
    {
        if (listener.Http2 is { Value: true } http2 && info.Protocol == Routing.ListenerProtocol.Tcp)
        {
            errors.Add(http2.Position, TomlConfigLoader.Join(listener.Path, "http2"), "applies to http listeners only (a tcp listener relays bytes, whatever the protocol)");
        }

        if (listener.Http2Settings is not { } settings)
        {
            return;
        }

        CheckRange(settings.MaxConcurrentStreams, settings.Path, "max_concurrent_streams", 1, MaxHttp2Streams, errors);
        CheckRange(settings.InitialWindowSize, settings.Path, "initial_window_size", 1, int.MaxValue, errors);
        CheckRange(settings.MaxFrameSize, settings.Path, "max_frame_size", 16_384, 16_777_215, errors);
        CheckRange(settings.MaxHeaderListSize, settings.Path, "max_header_list_size", MinHeadBytes, MaxHeadBytes, errors);
    }
}
