namespace LoadBalancer.Core.Http2.Hpack;

/// <summary>
/// Decodes complete header blocks (RFC 7541 section 6): the HTTP/2 layer joins HEADERS and CONTINUATION fragments,
/// under its own cap on encoded bytes, before calling <see cref="Decode"/>. One decoder per connection and direction;
/// it allocates only when constructed. Decoded names and values go to the caller's output buffer, which should be at
/// least <see cref="MaxListSize"/> bytes: within the list limit the decoded bytes always fit.
/// </summary>
internal sealed class HpackDecoder
{
    private const int EntryOverhead = 32;

    private readonly HpackDynamicTable _table;

    // Where a field goes once the list is over its limit: it is still decoded (an indexed literal must enter the table
    // to keep the connection's HPACK state in step) but no longer returned. Capacity bytes hold any storable entry.
    private readonly byte[] _scratch;

    /// <param name="tableCapacity">Our SETTINGS_HEADER_TABLE_SIZE: the largest dynamic table the peer may ask for.</param>
    /// <param name="maxListSize">Our SETTINGS_MAX_HEADER_LIST_SIZE, counted as RFC 9113 section 6.5.2 does.</param>
    /// <param name="maxFields">Fields per block; a list of many empty fields is small in bytes but costly to process.</param>
    public HpackDecoder(int tableCapacity, int maxListSize, int maxFields)
    {
        _table = new HpackDynamicTable(tableCapacity);
        _scratch = new byte[Math.Max(tableCapacity, 1)];
        MaxListSize = maxListSize;
        MaxFields = maxFields;
    }

    public int MaxListSize { get; }

    public int MaxFields { get; }

    /// <summary>The dynamic table's current size in RFC 7541 terms, for tests and diagnostics.</summary>
    public int TableSize => _table.Size;

    public int TableCount => _table.Count;

    /// <summary>
    /// Decodes <paramref name="block"/>. On <see cref="HpackStatus.Ok"/> the first <paramref name="fieldCount"/> entries
    /// of <paramref name="fields"/> point into <paramref name="output"/>; on <see cref="HpackStatus.ListTooLarge"/> the
    /// table is still up to date; on <see cref="HpackStatus.CompressionError"/> the connection must end.
    /// </summary>
    public HpackStatus Decode(ReadOnlySpan<byte> block, Span<byte> output, Span<HpackField> fields, out int fieldCount)
    {
        var status = DecodeFields(block, output, fields, out fieldCount);
        if (status != HpackStatus.Ok)
        {
            // Fields decoded before an error or past a limit are not a request: none are returned.
            fieldCount = 0;
        }

        return status;
    }

    private HpackStatus DecodeFields(ReadOnlySpan<byte> block, Span<byte> output, Span<HpackField> fields, out int fieldCount)
    {
        fieldCount = 0;
        var used = 0;
        long listSize = 0;
        var overLimit = false;
        var sizeUpdateAllowed = true;
        var limit = Math.Min(MaxFields, fields.Length);
        var position = 0;
        while (position < block.Length)
        {
            var first = block[position];
            if ((first & 0xE0) == 0x20)
            {
                // A size update is allowed only before the first field (RFC 7541 section 4.2).
                if (!sizeUpdateAllowed || HpackInteger.TryRead(block, ref position, 5, out var size) != 1 || !_table.SetMaxSize(size))
                {
                    return HpackStatus.CompressionError;
                }

                continue;
            }

            sizeUpdateAllowed = false;
            var nameLength = 0;
            var valueLength = 0;
            var neverIndexed = false;
            Span<byte> region;
            if ((first & 0x80) != 0)
            {
                if (HpackInteger.TryRead(block, ref position, 7, out var index) != 1 || !Exists(index))
                {
                    return HpackStatus.CompressionError;
                }

                nameLength = NameLength(index);
                valueLength = ValueLength(index);
                region = overLimit || nameLength + valueLength > output.Length - used ? default : output[used..];
                if (!region.IsEmpty || nameLength + valueLength == 0)
                {
                    CopyName(index, region);
                    CopyValue(index, region[nameLength..]);
                }
                else
                {
                    overLimit = true;
                }
            }
            else
            {
                var indexing = (first & 0x40) != 0;
                neverIndexed = !indexing && (first & 0x10) != 0;
                if (HpackInteger.TryRead(block, ref position, indexing ? 6 : 4, out var nameIndex) != 1
                    || (nameIndex != 0 && !Exists(nameIndex)))
                {
                    return HpackStatus.CompressionError;
                }

                var literalStart = position;
                var read = overLimit ? HpackHuffman.NoRoom : ReadLiteral(block, ref position, nameIndex, output[used..], false, out nameLength, out valueLength);
                if (read == HpackHuffman.NoRoom)
                {
                    overLimit = true;
                    position = literalStart;
                    read = ReadLiteral(block, ref position, nameIndex, _scratch, false, out nameLength, out valueLength);
                    region = _scratch;
                    if (read == HpackHuffman.NoRoom)
                    {
                        // Larger than the table can ever hold: it empties the table if indexed, so only validity matters.
                        position = literalStart;
                        read = ReadLiteral(block, ref position, nameIndex, default, true, out nameLength, out valueLength);
                        region = default;
                    }
                }
                else
                {
                    region = output[used..];
                }

                if (read < 0)
                {
                    return HpackStatus.CompressionError;
                }

                if (indexing)
                {
                    if (region.IsEmpty && nameLength + valueLength > 0)
                    {
                        _table.AddOversized();
                    }
                    else
                    {
                        _table.Add(region[..nameLength], region.Slice(nameLength, valueLength));
                    }
                }
            }

            listSize += nameLength + valueLength + EntryOverhead;
            if (listSize > MaxListSize || fieldCount >= limit)
            {
                overLimit = true;
            }

            if (!overLimit)
            {
                fields[fieldCount++] = new HpackField(used, nameLength, used + nameLength, valueLength, neverIndexed);
                used += nameLength + valueLength;
            }
        }

        return overLimit ? HpackStatus.ListTooLarge : HpackStatus.Ok;
    }

    /// <summary>
    /// A literal's name (from the table when <paramref name="nameIndex"/> is not 0) and value, written one after the
    /// other into <paramref name="region"/>, or only measured: 1, <see cref="HpackHuffman.Malformed"/> or
    /// <see cref="HpackHuffman.NoRoom"/>.
    /// </summary>
    private int ReadLiteral(ReadOnlySpan<byte> block, ref int position, int nameIndex, Span<byte> region, bool measureOnly, out int nameLength, out int valueLength)
    {
        valueLength = 0;
        if (nameIndex != 0)
        {
            nameLength = NameLength(nameIndex);
            if (!measureOnly)
            {
                if (nameLength > region.Length)
                {
                    return HpackHuffman.NoRoom;
                }

                CopyName(nameIndex, region);
            }
        }
        else
        {
            nameLength = ReadString(block, ref position, region, measureOnly);
            if (nameLength < 0)
            {
                return nameLength;
            }
        }

        valueLength = ReadString(block, ref position, measureOnly ? default : region[nameLength..], measureOnly);
        return valueLength < 0 ? valueLength : 1;
    }

    /// <summary>A string literal (RFC 7541 section 5.2): its decoded length, or a negative HpackHuffman status.</summary>
    private static int ReadString(ReadOnlySpan<byte> block, ref int position, Span<byte> destination, bool measureOnly)
    {
        if (position >= block.Length)
        {
            return HpackHuffman.Malformed;
        }

        var huffman = (block[position] & 0x80) != 0;
        if (HpackInteger.TryRead(block, ref position, 7, out var length) != 1 || length > block.Length - position)
        {
            return HpackHuffman.Malformed;
        }

        var encoded = block.Slice(position, length);
        position += length;
        if (huffman)
        {
            return measureOnly ? HpackHuffman.DecodedLength(encoded) : HpackHuffman.Decode(encoded, destination);
        }

        if (!measureOnly)
        {
            if (length > destination.Length)
            {
                return HpackHuffman.NoRoom;
            }

            encoded.CopyTo(destination);
        }

        return length;
    }

    private bool Exists(int index) => index >= 1 && index <= HpackStaticTable.Count + _table.Count;

    private int NameLength(int index) =>
        index <= HpackStaticTable.Count ? HpackStaticTable.Get(index).Name.Length : _table.NameLength(index - HpackStaticTable.Count);

    private int ValueLength(int index) =>
        index <= HpackStaticTable.Count ? HpackStaticTable.Get(index).Value.Length : _table.ValueLength(index - HpackStaticTable.Count);

    private void CopyName(int index, Span<byte> destination)
    {
        if (index <= HpackStaticTable.Count)
        {
            HpackStaticTable.Get(index).Name.CopyTo(destination);
        }
        else
        {
            _table.CopyName(index - HpackStaticTable.Count, destination);
        }
    }

    private void CopyValue(int index, Span<byte> destination)
    {
        if (index <= HpackStaticTable.Count)
        {
            HpackStaticTable.Get(index).Value.CopyTo(destination);
        }
        else
        {
            _table.CopyValue(index - HpackStaticTable.Count, destination);
        }
    }
}
