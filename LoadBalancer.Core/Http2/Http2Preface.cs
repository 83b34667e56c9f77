using System.Buffers;
using LoadBalancer.Core.Http2.Frames;

namespace LoadBalancer.Core.Http2;

/// <summary>Recognizes the client connection preface at the start of a connection's bytes (RFC 9113 section 3.4).</summary>
internal static class Http2Preface
{
    /// <summary>1: the whole preface is there; 0: what is there is a proper prefix of it; -1: not the preface.</summary>
    public static int Match(in ReadOnlySequence<byte> buffer)
    {
        var preface = Http2FrameWriter.ClientPreface;
        Span<byte> start = stackalloc byte[24];
        var length = (int)Math.Min(buffer.Length, preface.Length);
        buffer.Slice(0, length).CopyTo(start);
        if (!start[..length].SequenceEqual(preface[..length]))
        {
            return -1;
        }

        return length == preface.Length ? 1 : 0;
    }
}
