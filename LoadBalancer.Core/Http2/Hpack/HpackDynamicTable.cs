namespace LoadBalancer.Core.Http2.Hpack;

/// <summary>
/// The decoder's dynamic table (RFC 7541 sections 2.3.2 and 4): newest entry first, sizes counted as name + value + 32,
/// oldest entries evicted to fit. It allocates only when constructed. Entry bytes live in one ring buffer as large as
/// the greatest size the table may reach, and that is always enough: each entry counts 32 bytes more than it stores.
/// </summary>
internal sealed class HpackDynamicTable
{
    private const int EntryOverhead = 32;

    private readonly byte[] _ring;
    private readonly (int Start, int NameLength, int ValueLength)[] _entries;
    private int _ringHead;
    private int _newest = -1;
    private int _count;

    /// <param name="capacity">The greatest size the peer may set: our SETTINGS_HEADER_TABLE_SIZE.</param>
    public HpackDynamicTable(int capacity)
    {
        Capacity = capacity;
        MaxSize = capacity;
        _ring = new byte[Math.Max(capacity, 1)];
        _entries = new (int, int, int)[(capacity / EntryOverhead) + 1];
    }

    public int Capacity { get; }

    /// <summary>The size the encoder last set (at most <see cref="Capacity"/>).</summary>
    public int MaxSize { get; private set; }

    public int Size { get; private set; }

    public int Count => _count;

    /// <summary>A dynamic table size update; false when over <see cref="Capacity"/> (a compression error).</summary>
    public bool SetMaxSize(int size)
    {
        if (size > Capacity)
        {
            return false;
        }

        MaxSize = size;
        Evict(0);
        return true;
    }

    /// <summary>Adds an entry, evicting the oldest ones; an entry larger than the table empties it (RFC 7541 section 4.4).</summary>
    public void Add(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        var size = name.Length + value.Length + EntryOverhead;
        if (size > MaxSize)
        {
            Evict(MaxSize + 1);
            return;
        }

        Evict(size);
        var start = _ringHead;
        Write(start, name);
        Write((start + name.Length) % _ring.Length, value);
        _ringHead = (start + name.Length + value.Length) % _ring.Length;
        _newest = (_newest + 1) % _entries.Length;
        _entries[_newest] = (start, name.Length, value.Length);
        _count++;
        Size += size;
    }

    /// <summary>An indexed entry too large for the table, whose bytes the decoder did not keep: it empties the table.</summary>
    public void AddOversized() => Evict(MaxSize + 1);

    /// <summary>Length of the name of entry <paramref name="index"/> (1 = newest).</summary>
    public int NameLength(int index) => Entry(index).NameLength;

    public int ValueLength(int index) => Entry(index).ValueLength;

    public void CopyName(int index, Span<byte> destination)
    {
        var (start, nameLength, _) = Entry(index);
        Read(start, nameLength, destination);
    }

    public void CopyValue(int index, Span<byte> destination)
    {
        var (start, nameLength, valueLength) = Entry(index);
        Read((start + nameLength) % _ring.Length, valueLength, destination);
    }

    private (int Start, int NameLength, int ValueLength) Entry(int index)
    {
        var slot = (_newest - (index - 1) + _entries.Length) % _entries.Length;
        return _entries[slot];
    }

    /// <summary>Evicts the oldest entries until <paramref name="incoming"/> more bytes fit in <see cref="MaxSize"/>.</summary>
    private void Evict(int incoming)
    {
        while (_count > 0 && Size + incoming > MaxSize)
        {
            var oldest = Entry(_count);
            Size -= oldest.NameLength + oldest.ValueLength + EntryOverhead;
            _count--;
        }
    }

    private void Write(int start, ReadOnlySpan<byte> data)
    {
        var first = Math.Min(data.Length, _ring.Length - start);
        data[..first].CopyTo(_ring.AsSpan(start));
        data[first..].CopyTo(_ring);
    }

    private void Read(int start, int length, Span<byte> destination)
    {
        var first = Math.Min(length, _ring.Length - start);
        _ring.AsSpan(start, first).CopyTo(destination);
        _ring.AsSpan(0, length - first).CopyTo(destination[first..]);
    }
}
