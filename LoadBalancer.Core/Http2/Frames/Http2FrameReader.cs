using System.Buffers;
using System.Buffers.Binary;

namespace LoadBalancer.Core.Http2.Frames;

/// <summary>
/// Splits frames off a connection's bytes and checks each type's structural rules (RFC 9113 sections 4 and 6): the
/// stream id a type requires, fixed payload lengths, padding, and self-dependent priorities. Stream states, flow
/// control and header blocks are the connection's: this only says whether one frame is well formed. No allocation.
/// </summary>
internal static class Http2FrameReader
{
    /// <summary>
    /// Reads the next frame of <paramref name="buffer"/>. A payload longer than <paramref name="maxFrameSize"/> (our
    /// SETTINGS_MAX_FRAME_SIZE) is a connection error before any of it is buffered.
    /// </summary>
    public static Http2ReadStatus TryRead(in ReadOnlySequence<byte> buffer, int maxFrameSize, out Http2FrameHeader header, out ReadOnlySequence<byte> payload, out Http2Fault fault)
    {
        payload = default;
        fault = Http2Fault.None;
        Span<byte> headerBytes = stackalloc byte[Http2FrameHeader.Size];
        if (buffer.Length < Http2FrameHeader.Size)
        {
            header = default;
            return Http2ReadStatus.NeedMore;
        }

        buffer.Slice(0, Http2FrameHeader.Size).CopyTo(headerBytes);
        Http2FrameHeader.TryRead(headerBytes, out header);
        if (header.Length > maxFrameSize)
        {
            fault = Http2Fault.Connection(Http2ErrorCode.FrameSizeError, "frame_too_large");
            return Http2ReadStatus.Fault;
        }

        if (buffer.Length - Http2FrameHeader.Size < header.Length)
        {
            return Http2ReadStatus.NeedMore;
        }

        payload = buffer.Slice(Http2FrameHeader.Size, header.Length);
        Span<byte> prefix = stackalloc byte[8];
        var prefixLength = (int)Math.Min(payload.Length, prefix.Length);
        payload.Slice(0, prefixLength).CopyTo(prefix);
        fault = Check(header, prefix[..prefixLength]);
        return fault.IsFault ? Http2ReadStatus.Fault : Http2ReadStatus.Frame;
    }

    /// <summary>
    /// The structural rules of one frame, given its header and the first bytes of its payload (up to 8: all that any
    /// rule reads).
    /// </summary>
    public static Http2Fault Check(in Http2FrameHeader header, ReadOnlySpan<byte> payloadStart)
    {
        var length = header.Length;
        var onStream = header.StreamId != 0;
        switch (header.Type)
        {
            case Http2FrameType.Data:
                if (!onStream)
                {
                    return Http2Fault.Connection(Http2ErrorCode.ProtocolError, "data_on_stream_0");
                }

                return CheckPadding(header, payloadStart, fixedFields: 0);

            case Http2FrameType.Headers:
                if (!onStream)
                {
                    return Http2Fault.Connection(Http2ErrorCode.ProtocolError, "headers_on_stream_0");
                }

                var priorityFields = header.HasFlag(Http2Flags.Priority) ? 5 : 0;
                var padding = CheckPadding(header, payloadStart, priorityFields);
                if (padding.IsFault || priorityFields == 0)
                {
                    return padding;
                }

                var padded = header.HasFlag(Http2Flags.Padded) ? 1 : 0;
                return DependsOnItself(header, payloadStart[padded..])
                    ? Http2Fault.Stream(Http2ErrorCode.ProtocolError, "stream_depends_on_itself")
                    : Http2Fault.None;

            case Http2FrameType.Priority:
                if (!onStream)
                {
                    return Http2Fault.Connection(Http2ErrorCode.ProtocolError, "priority_on_stream_0");
                }

                if (length != 5)
                {
                    return Http2Fault.Stream(Http2ErrorCode.FrameSizeError, "priority_length");
                }

                return DependsOnItself(header, payloadStart)
                    ? Http2Fault.Stream(Http2ErrorCode.ProtocolError, "stream_depends_on_itself")
                    : Http2Fault.None;

            case Http2FrameType.RstStream:
                if (!onStream)
                {
                    return Http2Fault.Connection(Http2ErrorCode.ProtocolError, "rst_stream_on_stream_0");
                }

                return length == 4 ? Http2Fault.None : Http2Fault.Connection(Http2ErrorCode.FrameSizeError, "rst_stream_length");

            case Http2FrameType.Settings:
                if (onStream)
                {
                    return Http2Fault.Connection(Http2ErrorCode.ProtocolError, "settings_on_a_stream");
                }

                if (header.HasFlag(Http2Flags.Ack) && length != 0)
                {
                    return Http2Fault.Connection(Http2ErrorCode.FrameSizeError, "settings_ack_with_payload");
                }

                return length % 6 == 0 ? Http2Fault.None : Http2Fault.Connection(Http2ErrorCode.FrameSizeError, "settings_length");

            case Http2FrameType.PushPromise:
                // lb sends SETTINGS_ENABLE_PUSH = 0 to backends, and clients may never push (section 8.4).
                return Http2Fault.Connection(Http2ErrorCode.ProtocolError, "push_promise");

            case Http2FrameType.Ping:
                if (onStream)
                {
                    return Http2Fault.Connection(Http2ErrorCode.ProtocolError, "ping_on_a_stream");
                }

                return length == 8 ? Http2Fault.None : Http2Fault.Connection(Http2ErrorCode.FrameSizeError, "ping_length");

            case Http2FrameType.GoAway:
                if (onStream)
                {
                    return Http2Fault.Connection(Http2ErrorCode.ProtocolError, "goaway_on_a_stream");
                }

                return length >= 8 ? Http2Fault.None : Http2Fault.Connection(Http2ErrorCode.FrameSizeError, "goaway_length");

            case Http2FrameType.WindowUpdate:
                if (length != 4)
                {
                    return Http2Fault.Connection(Http2ErrorCode.FrameSizeError, "window_update_length");
                }

                if ((BinaryPrimitives.ReadUInt32BigEndian(payloadStart) & 0x7FFF_FFFF) != 0)
                {
                    return Http2Fault.None;
                }

                return onStream
                    ? Http2Fault.Stream(Http2ErrorCode.ProtocolError, "window_update_of_0")
                    : Http2Fault.Connection(Http2ErrorCode.ProtocolError, "window_update_of_0");

            case Http2FrameType.Continuation:
                return onStream ? Http2Fault.None : Http2Fault.Connection(Http2ErrorCode.ProtocolError, "continuation_on_stream_0");

            default:
                // Extension frames are ignored (section 5.5).
                return Http2Fault.None;
        }
    }

    /// <summary>
    /// The bytes of a DATA frame's data or a HEADERS frame's field block fragment: the payload without the pad length,
    /// the priority fields and the padding. Call only on a frame <see cref="Check"/> accepted.
    /// </summary>
    public static ReadOnlySequence<byte> Content(in Http2FrameHeader header, in ReadOnlySequence<byte> payload)
    {
        var start = 0;
        var padding = 0;
        if (header.HasFlag(Http2Flags.Padded))
        {
            padding = payload.FirstSpan.Length > 0 ? payload.FirstSpan[0] : FirstByte(payload);
            start = 1;
        }

        if (header.Type == Http2FrameType.Headers && header.HasFlag(Http2Flags.Priority))
        {
            start += 5;
        }

        return payload.Slice(start, payload.Length - start - padding);
    }

    private static byte FirstByte(in ReadOnlySequence<byte> payload)
    {
        Span<byte> one = stackalloc byte[1];
        payload.Slice(0, 1).CopyTo(one);
        return one[0];
    }

    /// <summary>Padding (section 6.1): the pad length must fit, with the fixed fields, inside the payload.</summary>
    private static Http2Fault CheckPadding(in Http2FrameHeader header, ReadOnlySpan<byte> payloadStart, int fixedFields)
    {
        var padded = header.HasFlag(Http2Flags.Padded);
        var required = fixedFields + (padded ? 1 : 0);
        if (header.Length < required)
        {
            return Http2Fault.Connection(Http2ErrorCode.FrameSizeError, "frame_too_short");
        }

        if (padded && payloadStart[0] > header.Length - required)
        {
            return Http2Fault.Connection(Http2ErrorCode.ProtocolError, "padding_too_long");
        }

        return Http2Fault.None;
    }

    private static bool DependsOnItself(in Http2FrameHeader header, ReadOnlySpan<byte> priority)
        => (int)(BinaryPrimitives.ReadUInt32BigEndian(priority) & 0x7FFF_FFFF) == header.StreamId;
}
