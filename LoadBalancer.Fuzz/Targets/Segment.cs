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
}
