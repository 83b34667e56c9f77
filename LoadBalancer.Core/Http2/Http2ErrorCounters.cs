namespace LoadBalancer.Core.Http2;

/// <summary>What an HTTP/2 client did wrong, as the <c>kind</c> label of <c>lb_http2_protocol_errors_total</c>.</summary>
public enum Http2ErrorKind
{
    /// <summary>A frame or stream-state rule of RFC 9113 (GOAWAY or RST_STREAM PROTOCOL_ERROR).</summary>
    Protocol,

    /// <summary>A request RFC 9113 section 8 calls malformed: its stream was reset, nothing was forwarded.</summary>
    MalformedRequest,

    /// <summary>Too many early stream resets (Rapid Reset, MadeYouReset): GOAWAY ENHANCE_YOUR_CALM.</summary>
    RapidReset,

    /// <summary>A header block over the byte or CONTINUATION-frame caps: GOAWAY ENHANCE_YOUR_CALM.</summary>
    ContinuationFlood,

    /// <summary>A decoded header list over max_head_bytes or max_headers (an HPACK bomb): the stream was reset.</summary>
    HeaderListTooLarge,

    /// <summary>Bad HPACK: GOAWAY COMPRESSION_ERROR.</summary>
    Compression,

    /// <summary>A window overflow or similar: FLOW_CONTROL_ERROR.</summary>
    FlowControl,

    /// <summary>A frame larger than lb's SETTINGS_MAX_FRAME_SIZE, or of the wrong length for its type.</summary>
    FrameSize,

    /// <summary>A stream over max concurrent streams, or opened while the connection drains: REFUSED_STREAM.</summary>
    RefusedStream,
}

/// <summary>The per-listener counts of <see cref="Http2ErrorKind"/>; carried across reloads by listener name.</summary>
public sealed class Http2ErrorCounters
{
    public const int Count = 9;

    private readonly long[] _counts = new long[Count];

    public long this[Http2ErrorKind kind] => Volatile.Read(ref _counts[(int)kind]);

    public void Add(Http2ErrorKind kind) => Interlocked.Increment(ref _counts[(int)kind]);

    public static string Name(Http2ErrorKind kind) => kind switch
    {
        Http2ErrorKind.Protocol => "protocol",
        Http2ErrorKind.MalformedRequest => "malformed_request",
        Http2ErrorKind.RapidReset => "rapid_reset",
        Http2ErrorKind.ContinuationFlood => "continuation_flood",
        Http2ErrorKind.HeaderListTooLarge => "header_list_too_large",
        Http2ErrorKind.Compression => "compression",
        Http2ErrorKind.FlowControl => "flow_control",
        Http2ErrorKind.FrameSize => "frame_size",
        _ => "refused_stream",
    };
}
