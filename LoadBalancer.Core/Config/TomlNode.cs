namespace LoadBalancer.Core.Config;

/// <summary>
/// A TOML value with its position, after TOML's table rules (headers, dotted keys, inline tables, arrays of tables)
/// have been applied, so that <c>[[pools]]</c> and <c>pools = [{...}]</c> read the same way.
/// </summary>
internal sealed class TomlNode
{
    private readonly List<TomlEntry>? _entries;
    private readonly List<TomlNode>? _items;

    private TomlNode(TomlNodeKind kind, SourcePosition position)
    {
        Kind = kind;
        Position = position;
        if (kind == TomlNodeKind.Table)
        {
            _entries = [];
        }
        else if (kind == TomlNodeKind.Array)
        {
            _items = [];
        }
    }

    public TomlNodeKind Kind { get; }

    /// <summary>Where the value starts; for a table from a header, the header's name.</summary>
    public SourcePosition Position { get; }

    public string? String { get; private init; }

    public long Integer { get; private init; }

    public bool Flag { get; private init; }

    /// <summary>True for an array built from <c>[[name]]</c> headers, which later headers may extend.</summary>
    public bool IsTableArray { get; init; }

    /// <summary>True for a table that exists only as the prefix of a dotted key or header, so a header may still define it.</summary>
    public bool IsImplicit { get; set; }

    public IReadOnlyList<TomlEntry> Entries => _entries ?? [];

    public IReadOnlyList<TomlNode> Items => _items ?? [];

    public static TomlNode Table(SourcePosition position) => new(TomlNodeKind.Table, position);

    public static TomlNode Array(SourcePosition position, bool isTableArray = false) => new(TomlNodeKind.Array, position) { IsTableArray = isTableArray };

    public static TomlNode Text(string value, SourcePosition position) => new(TomlNodeKind.String, position) { String = value };

    public static TomlNode Number(long value, SourcePosition position) => new(TomlNodeKind.Integer, position) { Integer = value };

    public static TomlNode Boolean(bool value, SourcePosition position) => new(TomlNodeKind.Boolean, position) { Flag = value };

    public static TomlNode Other(TomlNodeKind kind, SourcePosition position) => new(kind, position);

    public TomlNode? Get(string key)
    {
        if (_entries is null)
        {
            return null;
        }

        foreach (var entry in _entries)
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
        if (_entries is null)
        {
            return;
        }

        for (var i = 0; i < _entries.Count; i++)
        {
            if (_entries[i].Key == key)
            {
                _entries[i] = new TomlEntry(key, keyPosition, value);
                return;
            }
        }

        _entries.Add(new TomlEntry(key, keyPosition, value));
    }

    public void Add(TomlNode item) => _items?.Add(item);
}
