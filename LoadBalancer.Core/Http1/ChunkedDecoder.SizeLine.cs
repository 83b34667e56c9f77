using LoadBalancer.Core.Http;
namespace LoadBalancer.Core.Http1;

/// <summary>The chunk-size line (size, extensions, CRLF) and the trailer section, byte by byte.</summary>
public partial struct ChunkedDecoder
{

    /// <summary>chunk = chunk-size [ chunk-ext ] CRLF; chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ).</summary>
    private bool StepSizeLine(byte b)
    {
        switch (_state)
        {
            case State.SizeStart:
            case State.Size:
                // Advance takes hex digits itself (AddSizeDigit), so b is the byte after them.
                if (_state == State.SizeStart)
                {
                    return false;
                }

                return AfterSizeOrValue(b);

            case State.SizeBws:
            case State.ExtAfterQuoted:
                return AfterSizeOrValue(b);

            case State.ExtNameStart:
                if (HttpChars.IsWhitespace(b))
                {
                    return true;
                }

                if (!HttpChars.IsTchar(b))
                {
                    return false;
                }

                _state = State.ExtName;
                return true;

            case State.ExtName:
                if (HttpChars.IsTchar(b))
                {
                    return true;
                }

                return AfterExtName(b);

            case State.ExtNameBws:
                return AfterExtName(b);

            case State.ExtValueStart:
                if (HttpChars.IsWhitespace(b))
                {
                    return true;
                }

                if (b == (byte)'"')
                {
                    _state = State.ExtQuoted;
                    return true;
                }

                if (!HttpChars.IsTchar(b))
                {
                    return false;
                }

                _state = State.ExtToken;
                return true;

            case State.ExtToken:
                if (HttpChars.IsTchar(b))
                {
                    return true;
                }

                return AfterSizeOrValue(b);

            case State.ExtQuoted:
                // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text (RFC 9110 section 5.6.4).
                if (b == (byte)'"')
                {
                    _state = State.ExtAfterQuoted;
                    return true;
                }

                if (b == (byte)'\\')
                {
                    _state = State.ExtQuotedEscape;
                    return true;
                }

                return b == (byte)'\t' || (b >= 0x20 && b != 0x7F);

            case State.ExtQuotedEscape:
                // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ).
                _state = State.ExtQuoted;
                return b == (byte)'\t' || (b >= 0x20 && b != 0x7F);

            case State.SizeLf:
                if (b != (byte)'\n')
                {
                    return false;
                }

                if (_remaining == 0)
                {
                    _state = State.TrailerLineStart;
                }
                else
                {
                    _state = State.Data;
                }

                return true;

            default:
                return false;
        }
    }

    private void StartSizeLine()
    {
        _state = State.SizeStart;
        _lineBytes = 0;
        _sizeDigits = 0;
    }

    private bool AddSizeDigit(byte b)
    {
        if (++_lineBytes > MaxChunkLineBytes)
        {
            return false;
        }

        // Leading zeros do not count towards the digit cap; the line cap bounds them.
        if ((_remaining != 0 || b != (byte)'0') && ++_sizeDigits > MaxSizeDigits)
        {
            return false;
        }

        _remaining = (_remaining << 4) | (long)HttpChars.HexValue(b);
        _state = State.Size;
        return true;
    }

    /// <summary>After chunk-size or an ext value: BWS then ';', or ';', or the CR ending the line.</summary>
    private bool AfterSizeOrValue(byte b)
    {
        if (b == (byte)';')
        {
            _state = State.ExtNameStart;
            return true;
        }

        if (HttpChars.IsWhitespace(b))
        {
            _state = State.SizeBws;
            return true;
        }

        if (b == (byte)'\r' && _state != State.SizeBws)
        {
            _state = State.SizeLf;
            return true;
        }

        return false;
    }

    /// <summary>After an ext name: BWS, '=', ';' or the CR ending the line (not after BWS: the grammar has no trailing BWS).</summary>
    private bool AfterExtName(byte b)
    {
        switch (b)
        {
            case (byte)'=':
                _state = State.ExtValueStart;
                return true;
            case (byte)';':
                _state = State.ExtNameStart;
                return true;
            case (byte)' ' or (byte)'\t':
                _state = State.ExtNameBws;
                return true;
            case (byte)'\r' when _state == State.ExtName:
                _state = State.SizeLf;
                return true;
            default:
                return false;
        }
    }

    /// <summary>trailer-section = *( field-line CRLF ) CRLF, with the header field line rules of RFC 9112 section 5.</summary>
    private bool StepTrailer(byte b)
    {
        switch (_state)
        {
            case State.TrailerLineStart:
                if (b == (byte)'\r')
                {
                    _state = State.FinalLf;
                    return true;
                }

                // A leading SP/HTAB would be obs-fold: rejected like in a head.
                if (!HttpChars.IsTchar(b))
                {
                    return false;
                }

                _state = State.TrailerName;
                return true;

            case State.TrailerName:
                if (HttpChars.IsTchar(b))
                {
                    return true;
                }

                if (b != (byte)':')
                {
                    return false;
                }

                _state = State.TrailerValue;
                return true;

            case State.TrailerValue:
                // Advance skipped the value bytes; this is the CTL that stopped it.
                if (b != (byte)'\r')
                {
                    return false;
                }

                _state = State.TrailerLf;
                return true;

            case State.TrailerLf:
                if (b != (byte)'\n')
                {
                    return false;
                }

                _state = State.TrailerLineStart;
                return true;

            case State.FinalLf:
                if (b != (byte)'\n')
                {
                    return false;
                }

                _state = State.Done;
                return true;

            default:
                return false;
        }
    }
}
