namespace LoadBalancer.Core.Http2.Hpack;

/// <summary>HPACK's prefixed integers (RFC 7541 section 5.1), bounded so a hostile encoding cannot overflow.</summary>
internal static class HpackInteger
{
    /// <summary>Larger values are refused: no HPACK field, index or table size lb accepts comes near it.</summary>
    public const int MaxValue = (1 << 24) - 1;

    /// <summary>
    /// Reads an integer with an <paramref name="prefixBits"/>-bit prefix starting at <paramref name="position"/>.
    /// Returns 1 (read, position moved past it), 0 (the input ends inside it), or -1 (over <see cref="MaxValue"/>).
    /// </summary>
    public static int TryRead(ReadOnlySpan<byte> source, ref int position, int prefixBits, out int value)
    {
        value = 0;
        if (position >= source.Length)
        {
            return 0;
        }

        var mask = (1 << prefixBits) - 1;
        var result = source[position] & mask;
        var at = position + 1;
        if (result == mask)
        {
            var shift = 0;
            while (true)
            {
                if (at >= source.Length)
                {
                    return 0;
                }

                var b = source[at++];
                result += (b & 0x7F) << shift;
                if (result > MaxValue)
                {
                    return -1;
                }

                if ((b & 0x80) == 0)
                {
                    break;
                }

                shift += 7;
                if (shift > 21)
                {
                    return -1;
                }
            }
        }

        position = at;
        value = result;
        return 1;
    }

    /// <summary>Writes <paramref name="value"/> with an <paramref name="prefixBits"/>-bit prefix, OR-ing <paramref name="flags"/> into the first byte; returns the bytes written.</summary>
    public static int Write(int value, int prefixBits, byte flags, Span<byte> destination)
    {
        var mask = (1 << prefixBits) - 1;
        if (value < mask)
        {
            destination[0] = (byte)(flags | value);
            return 1;
        }

        destination[0] = (byte)(flags | mask);
        value -= mask;
        var written = 1;
        while (value >= 0x80)
        {
            destination[written++] = (byte)((value & 0x7F) | 0x80);
            value >>= 7;
        }

        destination[written++] = (byte)value;
        return written;
    }
}
