namespace LoadBalancer.Core.Http2.Frames;

/// <summary>
/// A frame that breaks RFC 9113: the error code, whether it ends only its stream (RST_STREAM) or the whole connection
/// (GOAWAY), and a constant reason for the debug log and the counter label. Code NoError means no fault.
/// </summary>
internal readonly record struct Http2Fault(Http2ErrorCode Code, bool StreamOnly, string Reason)
{
    public static Http2Fault None => default;

    public bool IsFault => Code != Http2ErrorCode.NoError;

    public static Http2Fault Connection(Http2ErrorCode code, string reason) => new(code, false, reason);

    public static Http2Fault Stream(Http2ErrorCode code, string reason) => new(code, true, reason);
}
