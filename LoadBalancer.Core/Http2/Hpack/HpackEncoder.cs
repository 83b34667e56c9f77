namespace LoadBalancer.Core.Http2.Hpack;

/// <summary>
/// Encodes header fields with the static table and literals that are never added to a dynamic table. lb's connections
/// to backends carry many tenants' requests, and a shared compression context would let one tenant learn another's
/// header values from frame sizes (CRIME/HPACK's section 7.1 attacks); to clients, per-response bytes are small and the
/// table would cost memory per connection. So the encoder keeps no table at all. The price is a few bytes per
/// repeated field, measured against the CPU and memory saved. Huffman coding is used whenever it is shorter.
/// </summary>
internal sealed class HpackEncoder
{
    private int _pendingSizeUpdate = -1;

    /// <summary>
    /// The peer's SETTINGS_HEADER_TABLE_SIZE changed. Our table is always empty, but a decoder that lowered its limit
    /// may insist on seeing a size update within it (RFC 7541 section 4.2), so the next block starts with one to 0.
    /// </summary>
    public void PeerTableSizeChanged(int size)
    {
        if (size < 4096)
        {
            _pendingSizeUpdate = 0;
        }
    }

    /// <summary>Starts a header block: writes any pending table size update; returns the bytes written or -1 when it does not fit.</summary>
    public int BeginBlock(Span<byte> destination)
    {
        if (_pendingSizeUpdate < 0)
        {
            return 0;
        }

        if (destination.IsEmpty)
        {
            return -1;
        }

        var written = HpackInteger.Write(_pendingSizeUpdate, 5, 0x20, destination);
        _pendingSizeUpdate = -1;
        return written;
    }

    /// <summary>
    /// Writes one field (name in lowercase, as HTTP/2 requires); returns the bytes written, or -1 when
    /// <paramref name="destination"/> is too small (nothing usable is written then).
    /// <paramref name="neverIndexed"/> keeps the sender's mark on sensitive fields (RFC 7541 section 7.1.3).
    /// </summary>
    public static int Encode(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, bool neverIndexed, Span<byte> destination)
    {
        if (destination.Length < MaxIntegerLength)
        {
            return -1;
        }

        var index = HpackStaticTable.Find(name, value, out var exact);
        if (exact && !neverIndexed)
        {
            return HpackInteger.Write(index, 7, 0x80, destination);
        }

        var flags = neverIndexed ? (byte)0x10 : (byte)0x00;
        var written = HpackInteger.Write(index, 4, flags, destination);
        if (index == 0)
        {
            var nameLength = WriteString(name, destination[written..]);
            if (nameLength < 0)
            {
                return -1;
            }

            written += nameLength;
        }

        var valueLength = WriteString(value, destination[written..]);
        return valueLength < 0 ? -1 : written + valueLength;
    }

    /// <summary>The most bytes any field's encoding can take, for sizing buffers.</summary>
    public static int MaxEncodedLength(int nameLength, int valueLength) => (3 * MaxIntegerLength) + nameLength + valueLength;

    private const int MaxIntegerLength = 5;

    private static int WriteString(ReadOnlySpan<byte> value, Span<byte> destination)
    {
        var huffmanLength = HpackHuffman.EncodedLength(value);
        var huffman = huffmanLength < value.Length;
        var length = huffman ? huffmanLength : value.Length;
        if (destination.Length < MaxIntegerLength + length)
        {
            return -1;
        }

        var written = HpackInteger.Write(length, 7, huffman ? (byte)0x80 : (byte)0x00, destination);
        if (huffman)
        {
            written += HpackHuffman.Encode(value, destination[written..]);
        }
        else
        {
            value.CopyTo(destination[written..]);
            written += value.Length;
        }

        return written;
    }
}
