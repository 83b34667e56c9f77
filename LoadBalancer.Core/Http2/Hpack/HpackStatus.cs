namespace LoadBalancer.Core.Http2.Hpack;

/// <summary>How decoding a header block ended, and what HTTP/2 makes of it.</summary>
internal enum HpackStatus
{
    Ok,

    /// <summary>Malformed HPACK: a connection error of type COMPRESSION_ERROR (RFC 9113 section 4.3).</summary>
    CompressionError,

    /// <summary>
    /// The decoded list is over the size limit (name + value + 32 per field, as SETTINGS_MAX_HEADER_LIST_SIZE counts) or
    /// has more fields than allowed. The whole block was still decoded into the dynamic table, so the connection's HPACK
    /// state stays in step and only the stream fails (RFC 9113 section 10.5.1): the HPACK-bomb defence.
    /// </summary>
    ListTooLarge,
}
