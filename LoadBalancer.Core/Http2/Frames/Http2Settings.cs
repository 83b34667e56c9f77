using System.Buffers.Binary;

namespace LoadBalancer.Core.Http2.Frames;

/// <summary>
/// The SETTINGS parameters of one side of a connection (RFC 9113 section 6.5.2), starting from the protocol's
/// initial values. Unknown identifiers are ignored, as the RFC requires.
/// </summary>
internal record struct Http2Settings
{
    public const ushort HeaderTableSizeId = 0x1;
    public const ushort EnablePushId = 0x2;
    public const ushort MaxConcurrentStreamsId = 0x3;
    public const ushort InitialWindowSizeId = 0x4;
    public const ushort MaxFrameSizeId = 0x5;
    public const ushort MaxHeaderListSizeId = 0x6;

    /// <summary>The largest flow-control window (2^31 - 1).</summary>
    public const int MaxWindowSize = int.MaxValue;

    public Http2Settings()
    {
    }

    public uint HeaderTableSize { get; set; } = 4096;

    public bool EnablePush { get; set; } = true;

    public uint MaxConcurrentStreams { get; set; } = uint.MaxValue;

    public int InitialWindowSize { get; set; } = 65_535;

    public int MaxFrameSize { get; set; } = Http2FrameHeader.DefaultMaxFrameSize;

    public uint MaxHeaderListSize { get; set; } = uint.MaxValue;

    /// <summary>Applies a SETTINGS payload (already checked to be a multiple of 6 bytes); a bad value is a connection error.</summary>
    public Http2Fault Apply(ReadOnlySpan<byte> payload)
    {
        for (var i = 0; i + 6 <= payload.Length; i += 6)
        {
            var id = BinaryPrimitives.ReadUInt16BigEndian(payload[i..]);
            var value = BinaryPrimitives.ReadUInt32BigEndian(payload[(i + 2)..]);
            switch (id)
            {
                case HeaderTableSizeId:
                    HeaderTableSize = value;
                    break;
                case EnablePushId:
                    if (value > 1)
                    {
                        return Http2Fault.Connection(Http2ErrorCode.ProtocolError, "settings_enable_push");
                    }

                    EnablePush = value == 1;
                    break;
                case MaxConcurrentStreamsId:
                    MaxConcurrentStreams = value;
                    break;
                case InitialWindowSizeId:
                    if (value > MaxWindowSize)
                    {
                        return Http2Fault.Connection(Http2ErrorCode.FlowControlError, "settings_initial_window_size");
                    }

                    InitialWindowSize = (int)value;
                    break;
                case MaxFrameSizeId:
                    if (value < Http2FrameHeader.DefaultMaxFrameSize || value > Http2FrameHeader.MaxAllowedFrameSize)
                    {
                        return Http2Fault.Connection(Http2ErrorCode.ProtocolError, "settings_max_frame_size");
                    }

                    MaxFrameSize = (int)value;
                    break;
                case MaxHeaderListSizeId:
                    MaxHeaderListSize = value;
                    break;
            }
        }

        return Http2Fault.None;
    }
}
