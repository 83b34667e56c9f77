using System.Buffers;
using LoadBalancer.Core.Http2.Frames;

namespace LoadBalancer.Fuzz.Targets;

/// <summary>
/// Http2FrameReader, Http2Settings and the writers (issue 16). The input is a connection's bytes after the preface.
/// Properties: frames are read in order until NeedMore or a fault, consuming exactly header + payload each; the same
/// frames come out of a multi-segment sequence cut at input-chosen points; reading allocates nothing; a header
/// re-encodes to its bytes (reserved bit cleared); every prefix reads the same frames, then NeedMore or the whole
/// input's next answer (never a fault the whole input does not have); a content slice (padding and priority removed) lies inside its
/// payload; and SETTINGS that apply cleanly survive lb's writer and read back equal.
/// </summary>
internal static class Http2FramesTarget
{
    private const int MaxFrameSize = 16384;
    private static readonly byte[] Buffer = new byte[256];

    public static void Run(ReadOnlySpan<byte> data)
    {
        var bytes = data.ToArray();
        var whole = new ReadOnlySequence<byte>(bytes);
        var expected = ReadAll(whole, checkEach: true);
        var segmented = ReadAll(Segment.Chain(bytes, 13), checkEach: false);
        Check.That(expected.SequenceEqual(segmented), $"segmented input reads {segmented.Count} frames, whole input {expected.Count}");
        Prefixes(bytes, expected);

        long before = GC.GetAllocatedBytesForCurrentThread();
        var rest = whole;
        while (Http2FrameReader.TryRead(rest, MaxFrameSize, out var header, out var payload, out _) == Http2ReadStatus.Frame)
        {
            rest = rest.Slice(Http2FrameHeader.Size + header.Length);
        }

        Check.Allocated(before, 0, "Http2FrameReader.TryRead");
    }

    /// <summary>
    /// Every split point: the bytes up to it read as the whole input's first frames, then either the whole input's next
    /// answer or NeedMore. A prefix never faults where the whole input goes on (a frame still arriving is not an error).
    /// </summary>
    private static void Prefixes(byte[] bytes, List<(Http2ReadStatus, Http2FrameHeader, Http2ErrorCode, bool)> expected)
    {
        foreach (int k in HeadFacts.SplitPoints(bytes.Length))
        {
            var part = ReadAll(new ReadOnlySequence<byte>(bytes, 0, k), checkEach: false);
            int last = part.Count - 1;
            Check.That(part.Count <= expected.Count, $"split at {k}: {part.Count} answers, whole input {expected.Count}");
            for (int i = 0; i < last; i++)
            {
                Check.That(part[i] == expected[i], $"split at {k}: frame {i} reads {part[i]}, whole input {expected[i]}");
            }

            Check.That(part[last].Item1 == Http2ReadStatus.NeedMore || part[last] == expected[last],
                $"split at {k}: answer {last} is {part[last]}, whole input {expected[last]}");
        }
    }

    private static List<(Http2ReadStatus, Http2FrameHeader, Http2ErrorCode, bool)> ReadAll(ReadOnlySequence<byte> sequence, bool checkEach)
    {
        var frames = new List<(Http2ReadStatus, Http2FrameHeader, Http2ErrorCode, bool)>();
        var settings = new Http2Settings();
        while (true)
        {
            var status = Http2FrameReader.TryRead(sequence, MaxFrameSize, out var header, out var payload, out var fault);
            frames.Add((status, header, fault.Code, fault.StreamOnly));
            if (status != Http2ReadStatus.Frame)
            {
                Check.That(status == Http2ReadStatus.NeedMore || (fault.IsFault && fault.Reason.Length > 0), $"{status} without a fault");
                return frames;
            }

            Check.That(payload.Length == header.Length && header.Length <= MaxFrameSize, $"payload {payload.Length} for length {header.Length}");
            if (checkEach)
            {
                CheckFrame(sequence, header, payload, ref settings);
            }

            sequence = sequence.Slice(Http2FrameHeader.Size + header.Length);
        }
    }

    private static void CheckFrame(in ReadOnlySequence<byte> at, in Http2FrameHeader header, in ReadOnlySequence<byte> payload, ref Http2Settings settings)
    {
        Span<byte> original = stackalloc byte[Http2FrameHeader.Size];
        at.Slice(0, Http2FrameHeader.Size).CopyTo(original);
        original[5] &= 0x7F;
        Span<byte> written = stackalloc byte[Http2FrameHeader.Size];
        header.Write(written);
        Check.That(written.SequenceEqual(original), $"header re-encodes differently: {Check.Show(written)} vs {Check.Show(original)}");

        if (header.Type is Http2FrameType.Data or Http2FrameType.Headers)
        {
            var content = Http2FrameReader.Content(header, payload);
            Check.That(content.Length >= 0 && content.Length <= payload.Length, $"content of {content.Length} in a payload of {payload.Length}");
        }

        if (header.Type == Http2FrameType.Settings && !header.HasFlag(Http2Flags.Ack))
        {
            var fault = settings.Apply(payload.ToArray());
            if (!fault.IsFault)
            {
                var n = Http2FrameWriter.WriteSettings(Buffer, settings);
                var status = Http2FrameReader.TryRead(new ReadOnlySequence<byte>(Buffer, 0, n), MaxFrameSize, out _, out var echoed, out _);
                var copy = new Http2Settings();
                Check.That(status == Http2ReadStatus.Frame && !copy.Apply(echoed.ToArray()).IsFault && copy == settings, "SETTINGS do not survive lb's writer");
            }
        }
    }
}
