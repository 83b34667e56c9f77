using LoadBalancer.Core.Http;
namespace LoadBalancer.Core.Http1;

/// <summary>
/// Walks a chunked body (RFC 9112 section 7.1) so the proxy can forward it as raw bytes: it reads only chunk-size
/// lines, extensions and trailers, and skips chunk data. Feed it successive pieces of the stream in order; any split
/// point works, down to one byte at a time. <c>default</c> is the state before the first chunk-size line.
/// </summary>
/// <remarks>
/// Strict like the head parser, because a chunk boundary two parties see differently is request smuggling: only
/// CRLF ends a line, chunk-size is at most 15 significant hex digits, BWS is only accepted where the grammar has it,
/// chunk data must be followed by exactly CRLF, trailer fields follow the header field rules (no obs-fold).
/// </remarks>
public partial struct ChunkedDecoder
{
    /// <summary>Cap on a chunk-size line including extensions and CRLF.</summary>
    public const int MaxChunkLineBytes = 4096;

    /// <summary>Cap on the trailer section including its final CRLF.</summary>
    public const int MaxTrailerBytes = 16 * 1024;

    /// <summary>15 hex digits keep the size below 2^60, so it never overflows a long.</summary>
    private const int MaxSizeDigits = 15;

    private State _state;
    private long _remaining;
    private int _lineBytes;
    private int _sizeDigits;
    private int _trailerBytes;

    private enum State : byte
    {
        // Advance relies on this order: SizeStart and Size first, Done and Invalid last.
        SizeStart,   // first byte of chunk-size: must be HEXDIG
        Size,        // more HEXDIG, ';', BWS, or CR
        SizeBws,     // BWS after chunk-size or an extension: only ';' may follow
        ExtNameStart,
        ExtName,
        ExtNameBws,  // BWS after an ext name: '=' or ';'
        ExtValueStart,
        ExtToken,
        ExtQuoted,
        ExtQuotedEscape,
        ExtAfterQuoted,
        SizeLf,
        Data,
        DataCr,
        DataLf,
        TrailerLineStart,
        TrailerName,
        TrailerValue,
        TrailerLf,
        FinalLf,
        Done,
        Invalid,
    }

    /// <summary>
    /// True after the last chunk's line, until the end: what <see cref="AdvanceContent"/> consumes now is the trailer
    /// section (its field lines, then the final CRLF), which <see cref="AdvanceContent"/> never mixes with framing.
    /// </summary>
    public readonly bool InTrailerSection => _state is >= State.TrailerLineStart and < State.Done;

    /// <summary>True once the last chunk and trailer section were read.</summary>
    public readonly bool IsDone => _state == State.Done;

    /// <summary>
    /// Advances over <paramref name="data"/>. <paramref name="consumed"/> is how many bytes belong to this body
    /// (forward them as they are). NeedMore: all of data was consumed. Done: the body ended after consumed bytes.
    /// Invalid: consumed is the offset of the offending byte; the state stays Invalid.
    /// </summary>
    public ChunkedStatus Advance(ReadOnlySpan<byte> data, out int consumed)
    {
        if (_state >= State.Done)
        {
            // Nothing after the end (or after an error) belongs to this body.
            consumed = 0;
            return _state == State.Done ? ChunkedStatus.Done : ChunkedStatus.Invalid;
        }

        int i = 0;
        while (i < data.Length)
        {
            if (_state == State.Data)
            {
                // The common case by far: skip chunk data without looking at it.
                int take = (int)Math.Min(_remaining, data.Length - i);
                i += take;
                _remaining -= take;
                if (_remaining == 0)
                {
                    _state = State.DataCr;
                }

                continue;
            }

            if (_state == State.DataCr && (uint)(i + 1) < (uint)data.Length && data[i] == (byte)'\r' && data[i + 1] == (byte)'\n')
            {
                // Fast path for the CRLF after chunk data when both bytes are here.
                i += 2;
                StartSizeLine();
                continue;
            }

            if (_state <= State.Size && HttpChars.IsHex(data[i]))
            {
                if (!AddSizeDigit(data[i]))
                {
                    _state = State.Invalid;
                    consumed = i;
                    return ChunkedStatus.Invalid;
                }

                i++;
                continue;
            }

            if (_state is State.TrailerValue)
            {
                // Field value bytes up to the first CTL other than HTAB, which must be the CR (RFC 9110 section 5.5).
                int stop = data[i..].IndexOfAny(HttpChars.ValueStop);
                int run = stop < 0 ? data.Length - i : stop;
                int budget = MaxTrailerBytes - _trailerBytes;
                if (run > budget)
                {
                    // Report the first byte over the cap, as the byte-at-a-time path would.
                    _state = State.Invalid;
                    consumed = i + budget;
                    return ChunkedStatus.Invalid;
                }

                _trailerBytes += run;

                i += run;
                if (stop < 0)
                {
                    break;
                }
            }

            if (!Step(data[i]))
            {
                _state = State.Invalid;
                consumed = i;
                return ChunkedStatus.Invalid;
            }

            i++;
            if (_state == State.Done)
            {
                consumed = i;
                return ChunkedStatus.Done;
            }
        }

        consumed = data.Length;
        return ChunkedStatus.NeedMore;
    }

    /// <summary>
    /// Like <see cref="Advance"/>, but stops at the start and at the end of each chunk's data, so a caller can take
    /// the content out of the framing (de-chunking, for an HTTP/1.0 client). Each call consumes either framing only
    /// (<paramref name="content"/> is 0) or chunk data only (<paramref name="content"/> equals <paramref name="consumed"/>):
    /// the data run goes in one step, framing bytes one at a time through <see cref="Advance"/> (they are few).
    /// Status as for <see cref="Advance"/>; call again while NeedMore and bytes are left.
    /// </summary>
    public ChunkedStatus AdvanceContent(ReadOnlySpan<byte> data, out int consumed, out int content)
    {
        if (_state == State.Data)
        {
            int take = (int)Math.Min(_remaining, data.Length);
            _remaining -= take;
            if (_remaining == 0)
            {
                _state = State.DataCr;
            }

            consumed = take;
            content = take;
            return ChunkedStatus.NeedMore;
        }

        content = 0;
        int i = 0;
        var framing = !InTrailerSection;
        while (i < data.Length && _state != State.Data)
        {
            var status = Advance(data.Slice(i, 1), out var one);
            i += one;
            if (status != ChunkedStatus.NeedMore)
            {
                consumed = i;
                return status;
            }

            if (framing && _state == State.TrailerLineStart)
            {
                // The last chunk's line ended: the call returns here, so every byte a later call consumes is the
                // trailer section's (see InTrailerSection), whatever the split points.
                break;
            }
        }

        consumed = i;
        return _state >= State.Done ? (_state == State.Done ? ChunkedStatus.Done : ChunkedStatus.Invalid) : ChunkedStatus.NeedMore;
    }

    private bool CountTrailer(int bytes)
    {
        _trailerBytes += bytes;
        if (_trailerBytes > MaxTrailerBytes)
        {
            _state = State.Invalid;
            return false;
        }

        return true;
    }

    /// <summary>One byte of framing. False means the body is malformed.</summary>
    private bool Step(byte b)
    {
        switch (_state)
        {
            case State.SizeStart:
            case State.Size:
            case State.SizeBws:
            case State.ExtNameStart:
            case State.ExtName:
            case State.ExtNameBws:
            case State.ExtValueStart:
            case State.ExtToken:
            case State.ExtQuoted:
            case State.ExtQuotedEscape:
            case State.ExtAfterQuoted:
            case State.SizeLf:
                if (++_lineBytes > MaxChunkLineBytes)
                {
                    return false;
                }

                return StepSizeLine(b);

            case State.DataCr:
                if (b != (byte)'\r')
                {
                    return false;
                }

                _state = State.DataLf;
                return true;

            case State.DataLf:
                if (b != (byte)'\n')
                {
                    return false;
                }

                StartSizeLine();
                return true;

            case State.TrailerLineStart:
            case State.TrailerName:
            case State.TrailerValue:
            case State.TrailerLf:
            case State.FinalLf:
                return CountTrailer(1) && StepTrailer(b);

            default:
                // Done or Invalid: no byte belongs to this body any more.
                return false;
        }
    }
}
