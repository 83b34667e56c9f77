namespace LoadBalancer.Core.Http2.Hpack;

/// <summary>
/// The static Huffman code of HPACK string literals (RFC 7541 section 5.2, Appendix B). The code is canonical: each
/// symbol's code follows from the code lengths alone, assigned in order of (length, symbol). So the one transcribed
/// table is the 257 lengths below, checked against the appendix. The codes and the decoding arrays are derived from it
/// once, at type initialisation. Decoding walks the canonical code bit by bit (a first code and a count per length).
/// That is up to 30 steps per byte; a table-driven decoder can replace it if a profile ever shows it.
/// </summary>
internal static class HpackHuffman
{
    private const int Eos = 256;
    private const int MaxLength = 30;

    /// <summary>Code length in bits of each symbol 0..255 and EOS (256), from RFC 7541 Appendix B.</summary>
    private static ReadOnlySpan<byte> Lengths =>
    [
        13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,  // 0..15
        28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,  // 16..31
        6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,  // 32..47
        5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,  // 48..63
        13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,  // 64..79
        7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,  // 80..95
        15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,  // 96..111
        6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,  // 112..127
        20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,  // 128..143
        24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,  // 144..159
        22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,  // 160..175
        21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,  // 176..191
        26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,  // 192..207
        19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,  // 208..223
        20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,  // 224..239
        26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,  // 240..255
        30,  // 256..256
    ];

    private static readonly uint[] Codes = new uint[257];

    // Canonical decoding: the first code of each length, how many codes have that length, and where their symbols
    // start in Symbols (symbols sorted by length, then value).
    private static readonly uint[] FirstCode = new uint[MaxLength + 1];
    private static readonly int[] CountOfLength = new int[MaxLength + 1];
    private static readonly int[] FirstIndex = new int[MaxLength + 1];
    private static readonly short[] Symbols = new short[257];

    static HpackHuffman()
    {
        var lengths = Lengths;
        var next = 0;
        for (var length = 1; length <= MaxLength; length++)
        {
            FirstIndex[length] = next;
            for (var symbol = 0; symbol <= Eos; symbol++)
            {
                if (lengths[symbol] == length)
                {
                    Symbols[next++] = (short)symbol;
                    CountOfLength[length]++;
                }
            }
        }

        uint code = 0;
        for (var length = 1; length <= MaxLength; length++)
        {
            FirstCode[length] = code;
            for (var k = 0; k < CountOfLength[length]; k++)
            {
                Codes[Symbols[FirstIndex[length] + k]] = code++;
            }

            code <<= 1;
        }
    }

    /// <summary>Bytes of <paramref name="value"/> Huffman-coded, padding included.</summary>
    public static int EncodedLength(ReadOnlySpan<byte> value)
    {
        long bits = 0;
        foreach (var b in value)
        {
            bits += Lengths[b];
        }

        return (int)((bits + 7) / 8);
    }

    /// <summary>Writes <paramref name="value"/> Huffman-coded, padded with the most significant bits of EOS (ones); returns the bytes written.</summary>
    public static int Encode(ReadOnlySpan<byte> value, Span<byte> destination)
    {
        ulong accumulator = 0;
        var pending = 0;
        var written = 0;
        foreach (var b in value)
        {
            accumulator = (accumulator << Lengths[b]) | Codes[b];
            pending += Lengths[b];
            while (pending >= 8)
            {
                pending -= 8;
                destination[written++] = (byte)(accumulator >> pending);
            }
        }

        if (pending > 0)
        {
            destination[written++] = (byte)((accumulator << (8 - pending)) | (0xFFu >> pending));
        }

        return written;
    }

    /// <summary>
    /// Decodes into <paramref name="destination"/>: the bytes written, <see cref="Malformed"/> (an EOS symbol, padding
    /// longer than 7 bits or not all ones: RFC 7541 section 5.2) or <see cref="NoRoom"/>.
    /// </summary>
    public static int Decode(ReadOnlySpan<byte> source, Span<byte> destination) => Decode(source, destination, measureOnly: false);

    /// <summary>The decoded length, or <see cref="Malformed"/>; nothing is written.</summary>
    public static int DecodedLength(ReadOnlySpan<byte> source) => Decode(source, default, measureOnly: true);

    public const int Malformed = -1;
    public const int NoRoom = -2;

    private static int Decode(ReadOnlySpan<byte> source, Span<byte> destination, bool measureOnly)
    {
        uint code = 0;
        var length = 0;
        var written = 0;
        foreach (var b in source)
        {
            for (var bit = 7; bit >= 0; bit--)
            {
                code = (code << 1) | (uint)((b >> bit) & 1);
                length++;
                var offset = code - FirstCode[length];
                if (offset < (uint)CountOfLength[length])
                {
                    var symbol = Symbols[FirstIndex[length] + (int)offset];
                    if (symbol == Eos)
                    {
                        return Malformed;
                    }

                    if (!measureOnly)
                    {
                        if (written == destination.Length)
                        {
                            return NoRoom;
                        }

                        destination[written] = (byte)symbol;
                    }

                    written++;
                    code = 0;
                    length = 0;
                }
                else if (length == MaxLength)
                {
                    return Malformed;
                }
            }
        }

        // What is left must be a prefix of EOS: at most 7 bits, all ones.
        return length <= 7 && code == (1u << length) - 1 ? written : Malformed;
    }
}
