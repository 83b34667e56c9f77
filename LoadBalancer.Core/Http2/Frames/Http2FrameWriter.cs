using System.Buffers.Binary;

namespace LoadBalancer.Core.Http2.Frames;

/// <summary>
/// Writes lb's own frames into a caller's buffer (each returns the bytes written): control frames whole, and the
/// header of a DATA, HEADERS or CONTINUATION frame whose payload the caller places after it.
/// </summary>
internal static class Http2FrameWriter
{
    /// <summary>The client connection preface (RFC 9113 section 3.4) that starts HTTP/2 with prior knowledge.</summary>
    public static ReadOnlySpan<byte> ClientPreface => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8;

    public static int WriteHeader(Span<byte> destination, int length, Http2FrameType type, byte flags, int streamId)
    {
        new Http2FrameHeader(length, type, flags, streamId).Write(destination);
        return Http2FrameHeader.Size;
    }

    /// <summary>A SETTINGS frame with the values that differ from the protocol's initial ones.</summary>
    public static int WriteSettings(Span<byte> destination, in Http2Settings settings)
    {
        var defaults = new Http2Settings();
        var w = Http2FrameHeader.Size;
        if (settings.HeaderTableSize != defaults.HeaderTableSize)
        {
            w += WriteSetting(destination[w..], Http2Settings.HeaderTableSizeId, settings.HeaderTableSize);
        }

        if (settings.EnablePush != defaults.EnablePush)
        {
            w += WriteSetting(destination[w..], Http2Settings.EnablePushId, settings.EnablePush ? 1u : 0u);
        }

        if (settings.MaxConcurrentStreams != defaults.MaxConcurrentStreams)
        {
            w += WriteSetting(destination[w..], Http2Settings.MaxConcurrentStreamsId, settings.MaxConcurrentStreams);
        }

        if (settings.InitialWindowSize != defaults.InitialWindowSize)
        {
            w += WriteSetting(destination[w..], Http2Settings.InitialWindowSizeId, (uint)settings.InitialWindowSize);
        }

        if (settings.MaxFrameSize != defaults.MaxFrameSize)
        {
            w += WriteSetting(destination[w..], Http2Settings.MaxFrameSizeId, (uint)settings.MaxFrameSize);
        }

        if (settings.MaxHeaderListSize != defaults.MaxHeaderListSize)
        {
            w += WriteSetting(destination[w..], Http2Settings.MaxHeaderListSizeId, settings.MaxHeaderListSize);
        }

        WriteHeader(destination, w - Http2FrameHeader.Size, Http2FrameType.Settings, 0, 0);
        return w;
    }

    public static int WriteSettingsAck(Span<byte> destination) => WriteHeader(destination, 0, Http2FrameType.Settings, Http2Flags.Ack, 0);

    public static int WritePing(Span<byte> destination, bool ack, ReadOnlySpan<byte> opaque)
    {
        WriteHeader(destination, 8, Http2FrameType.Ping, ack ? Http2Flags.Ack : (byte)0, 0);
        opaque[..8].CopyTo(destination[Http2FrameHeader.Size..]);
        return Http2FrameHeader.Size + 8;
    }

    public static int WriteGoAway(Span<byte> destination, int lastStreamId, Http2ErrorCode code)
    {
        WriteHeader(destination, 8, Http2FrameType.GoAway, 0, 0);
        BinaryPrimitives.WriteUInt32BigEndian(destination[Http2FrameHeader.Size..], (uint)lastStreamId & 0x7FFF_FFFF);
        BinaryPrimitives.WriteUInt32BigEndian(destination[(Http2FrameHeader.Size + 4)..], (uint)code);
        return Http2FrameHeader.Size + 8;
    }

    public static int WriteRstStream(Span<byte> destination, int streamId, Http2ErrorCode code)
    {
        WriteHeader(destination, 4, Http2FrameType.RstStream, 0, streamId);
        BinaryPrimitives.WriteUInt32BigEndian(destination[Http2FrameHeader.Size..], (uint)code);
        return Http2FrameHeader.Size + 4;
    }

    public static int WriteWindowUpdate(Span<byte> destination, int streamId, int increment)
    {
        WriteHeader(destination, 4, Http2FrameType.WindowUpdate, 0, streamId);
        BinaryPrimitives.WriteUInt32BigEndian(destination[Http2FrameHeader.Size..], (uint)increment & 0x7FFF_FFFF);
        return Http2FrameHeader.Size + 4;
    }

    private static int WriteSetting(Span<byte> destination, ushort id, uint value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, id);
        BinaryPrimitives.WriteUInt32BigEndian(destination[2..], value);
        return 6;
    }
}
