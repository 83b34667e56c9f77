namespace LoadBalancer.Core.Config;

/// <summary>Reads a listener's <c>http2</c>: a boolean, or a table of HTTP/2 settings (which turns it on).</summary>
internal static partial class TomlConfigLoader
{
    private static readonly string[] Http2Keys = ["enabled", "max_concurrent_streams", "initial_window_size", "max_frame_size", "max_header_list_size"];

    private static void ReadListenerHttp2(TomlNode table, string path, LbListenerSection listener, ConfigErrorList errors)
    {
        var node = table.Get("http2");
        if (node is null)
        {
            return;
        }

        if (node.Kind != TomlNodeKind.Table)
        {
            listener.Http2 = Boolean(table, path, "http2", errors);
            return;
        }

        var http2 = InlineTable(table, path, "http2", Http2Keys, errors)!;
        var http2Path = Join(path, "http2");
        var section = new LbHttp2Section
        {
            Path = http2Path,
            Position = http2.Position,
            Enabled = Boolean(http2, http2Path, "enabled", errors),
            MaxConcurrentStreams = Integer(http2, http2Path, "max_concurrent_streams", errors),
            InitialWindowSize = Integer(http2, http2Path, "initial_window_size", errors),
            MaxFrameSize = Integer(http2, http2Path, "max_frame_size", errors),
            MaxHeaderListSize = Integer(http2, http2Path, "max_header_list_size", errors),
        };
        listener.Http2Settings = section;
        listener.Http2 = section.Enabled ?? new ConfigValue<bool>(true, http2.Position);
    }
}
