using System.Buffers;
using LoadBalancer.Core.Http2.Frames;
using LoadBalancer.Core.Transport;

namespace LoadBalancer.Core.Http2;

/// <summary>
/// Assembling a received header block (HEADERS, then CONTINUATION frames up to END_HEADERS, RFC 9113 section 4.3),
/// the same on both sides of lb, under the CONTINUATION-flood caps (2024): a block may not grow past
/// <see cref="MaxHeaderBlockBytes"/> encoded bytes or <see cref="MaxContinuationFrames"/> CONTINUATION frames.
/// </summary>
internal abstract partial class Http2Endpoint<TStream>
{
    protected const int MaxHeaderBlockBytes = 64 * 1024;
    protected const int MaxContinuationFrames = 32;

    // The block being assembled (one pooled 64 KiB buffer, rented while it is): its stream while CONTINUATIONs are
    // awaited (0: none), and whether END_STREAM came with its HEADERS.
    protected byte[]? _block;
    protected int _blockLength;
    protected int _blockStream;
    protected bool _blockEndStream;
    private int _continuations;

    /// <summary>What one HEADERS or CONTINUATION frame did to the block being assembled.</summary>
    protected enum BlockStep
    {
        /// <summary>END_HEADERS came: the block is whole.</summary>
        Complete,

        /// <summary>CONTINUATION frames must follow.</summary>
        More,

        /// <summary>A CONTINUATION with no block open, or on another stream (a connection error PROTOCOL_ERROR).</summary>
        Unexpected,

        /// <summary>The block passed a flood cap (a connection error ENHANCE_YOUR_CALM).</summary>
        Flood,
    }

    /// <summary>A HEADERS frame (its fragment without padding or priority) starts a block on stream <paramref name="id"/>.</summary>
    protected BlockStep StartBlock(Http2FrameHeader header, int id, in ReadOnlySequence<byte> fragment)
    {
        _blockLength = 0;
        _continuations = 0;
        _blockEndStream = header.HasFlag(Http2Flags.EndStream);
        if (!AppendFragment(fragment))
        {
            return BlockStep.Flood;
        }

        if (!header.HasFlag(Http2Flags.EndHeaders))
        {
            _blockStream = id;
            return BlockStep.More;
        }

        return BlockStep.Complete;
    }

    /// <summary>A CONTINUATION frame; <paramref name="id"/> is the block's stream once it is <see cref="BlockStep.Complete"/>.</summary>
    protected BlockStep ContinueBlock(Http2FrameHeader header, in ReadOnlySequence<byte> payload, out int id)
    {
        id = _blockStream;
        if (_blockStream == 0 || header.StreamId != _blockStream)
        {
            return BlockStep.Unexpected;
        }

        if (++_continuations > MaxContinuationFrames || !AppendFragment(payload))
        {
            return BlockStep.Flood;
        }

        if (!header.HasFlag(Http2Flags.EndHeaders))
        {
            return BlockStep.More;
        }

        _blockStream = 0;
        return BlockStep.Complete;
    }

    private bool AppendFragment(in ReadOnlySequence<byte> fragment)
    {
        var needed = _blockLength + (int)fragment.Length;
        if (needed > MaxHeaderBlockBytes)
        {
            return false;
        }

        _block ??= EngineBuffers.Rent(MaxHeaderBlockBytes);
        fragment.CopyTo(_block.AsSpan(_blockLength));
        _blockLength = needed;
        return true;
    }

    /// <summary>Gives back the block's buffer (done with it, or the connection ends).</summary>
    protected void ReturnBlock()
    {
        if (_block is not null)
        {
            EngineBuffers.Return(_block);
            _block = null;
        }
    }
}
