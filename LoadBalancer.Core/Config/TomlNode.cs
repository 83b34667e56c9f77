namespace LoadBalancer.Core.Config;

/// <summary>
/// A TOML value with its position, after TOML's table rules (headers, dotted keys, inline tables, arrays of tables)
/// have been applied, so that <c>[[pools]]</c> and <c>pools = [{...}]</c> read the same way.
/// </summary>
internal sealed class TomlNode
{
    // One field for a table's entries or an array's items, and one for a scalar's number, flag or double: a
    // 10,000-tenant file makes ~160,000 nodes per load (issue 20).
    private readonly object? _children;
    private readonly long _bits;

    private TomlNode(TomlNodeKind kind, SourcePosition position, long bits = 0)
    {
        Kind = kind;
        Position = position;
        _bits = bits;
        if (kind == TomlNodeKind.Table)
        {
            _children = new List<TomlEntry>();
        }
        else if (kind == TomlNodeKind.Array)
        {
            _children = new List<TomlNode>();
        }
    }

    public TomlNodeKind Kind { get; }

    /// <summary>Where the value starts; for a table from a header, the header's name.</summary>
    public SourcePosition Position { get; }

    public string? String { get; private init; }

    public long Integer => Kind == TomlNodeKind.Integer ? _bits : 0;

    public bool Flag => Kind == TomlNodeKind.Boolean && _bits != 0;

    /// <summary>The value of a <see cref="TomlNodeKind.Float"/> (also of an Integer, converted, so ratios may be written 0 or 1).</summary>
    public double Double => Kind switch
    {
        TomlNodeKind.Float => BitConverter.Int64BitsToDouble(_bits),
        TomlNodeKind.Integer => _bits,
        _ => 0,
    };

    /// <summary>True for an array built from <c>[[name]]</c> headers, which later headers may extend.</summary>
    public bool IsTableArray { get; init; }

    /// <summary>True for a table that exists only as the prefix of a dotted key or header, so a header may still define it.</summary>
    public bool IsImplicit { get; set; }

    // The lists themselves, not IReadOnlyList: a foreach over the interface boxes its enumerator, ~1 MB per load at
    // 10,000 tenants (issue 20). Never added to from outside; the empty ones are shared.
    public List<TomlEntry> Entries => _children as List<TomlEntry> ?? NoEntries;

    public List<TomlNode> Items => _children as List<TomlNode> ?? NoItems;

    private static readonly List<TomlEntry> NoEntries = [];

    private static readonly List<TomlNode> NoItems = [];

    private List<TomlEntry>? EntryList => _children as List<TomlEntry>;

    public static TomlNode Table(SourcePosition position) => new(TomlNodeKind.Table, position);

    public static TomlNode Array(SourcePosition position, bool isTableArray = false) => new(TomlNodeKind.Array, position) { IsTableArray = isTableArray };

    public static TomlNode Text(string value, SourcePosition position) => new(TomlNodeKind.String, position) { String = value };

    public static TomlNode Number(long value, SourcePosition position) => new(TomlNodeKind.Integer, position, value);

    public static TomlNode Float(double value, SourcePosition position) => new(TomlNodeKind.Float, position, BitConverter.DoubleToInt64Bits(value));

    public static TomlNode Boolean(bool value, SourcePosition position) => new(TomlNodeKind.Boolean, position, value ? 1 : 0);

    public static TomlNode Other(TomlNodeKind kind, SourcePosition position) => new(kind, position);

    public TomlNode? Get(string key)
    {
        if (EntryList is not { } entries)
        {
            return null;
        }

        foreach (var entry in entries)
        {
            if (entry.Key == key)
            {
                return entry.Value;
            }
        }

        return null;
    }

    /// <summary>Adds or replaces a key; Tomlyn's own validation has already refused redefinitions.</summary>
    public void Set(string key, SourcePosition keyPosition, TomlNode value)
    {
        if (EntryList is not { } entries)
        {
            return;
        }

        for (var i = 0; i < entries.Count; i++)
        {
            if (entries[i].Key == key)
            {
                entries[i] = new TomlEntry(key, keyPosition, value);
                return;
            }
        }

        entries.Add(new TomlEntry(key, keyPosition, value));
    }

    public void Add(TomlNode item) => (_children as List<TomlNode>)?.Add(item);
}
