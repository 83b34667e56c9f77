using System.Buffers;

namespace LoadBalancer.Fuzz.Targets;

/// <summary>A ReadOnlySequence segment, to deliver one input as many linked pieces.</summary>
internal sealed class Segment : ReadOnlySequenceSegment<byte>
{
    public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

    public void Append(Segment next)
    {
        next.RunningIndex = RunningIndex + Memory.Length;
        Next = next;
    }

    /// <summary>The input as linked segments of 1..<paramref name="maxPiece"/> bytes, sizes fixed by the input.</summary>
    public static ReadOnlySequence<byte> Chain(ReadOnlySpan<byte> data, int maxPiece)
    {
        if (data.IsEmpty)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        uint seed = (uint)data.Length * 2654435761u ^ data[0];
        Segment? first = null;
        Segment? last = null;
        for (int i = 0; i < data.Length;)
        {
            seed = (seed * 1103515245u) + 12345u;
            int size = Math.Min(data.Length - i, 1 + (int)((seed >> 16) % (uint)maxPiece));
            var segment = new Segment(data.Slice(i, size).ToArray());
            if (last is null)
            {
                first = segment;
            }
            else
            {
                last.Append(segment);
            }

            last = segment;
            i += size;
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }
}
