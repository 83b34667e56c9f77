using System.Buffers.Binary;

namespace LoadBalancer.Core.Http2.Frames;

/// <summary>The 9-byte frame header (RFC 9113 section 4.1): 24-bit length, type, flags, 31-bit stream id.</summary>
internal readonly record struct Http2FrameHeader(int Length, Http2FrameType Type, byte Flags, int StreamId)
{
    public const int Size = 9;

    /// <summary>The largest payload a peer may announce with SETTINGS_MAX_FRAME_SIZE (2^24 - 1).</summary>
    public const int MaxAllowedFrameSize = (1 << 24) - 1;

    /// <summary>The initial SETTINGS_MAX_FRAME_SIZE, and the least a peer may set.</summary>
    public const int DefaultMaxFrameSize = 1 << 14;

    public bool HasFlag(byte flag) => (Flags & flag) != 0;

    /// <summary>Reads a header from the first 9 bytes; false when fewer are there. The reserved bit is ignored.</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out Http2FrameHeader header)
    {
        if (source.Length < Size)
        {
            header = default;
            return false;
        }

        var length = (source[0] << 16) | (source[1] << 8) | source[2];
        var streamId = (int)(BinaryPrimitives.ReadUInt32BigEndian(source[5..]) & 0x7FFF_FFFF);
        header = new Http2FrameHeader(length, (Http2FrameType)source[3], source[4], streamId);
        return true;
    }

    public void Write(Span<byte> destination)
    {
        destination[0] = (byte)(Length >> 16);
        destination[1] = (byte)(Length >> 8);
        destination[2] = (byte)Length;
        destination[3] = (byte)Type;
        destination[4] = Flags;
        BinaryPrimitives.WriteUInt32BigEndian(destination[5..], (uint)StreamId & 0x7FFF_FFFF);
    }
}
