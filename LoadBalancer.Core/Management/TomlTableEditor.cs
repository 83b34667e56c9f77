using System.Text;
using System.Text.Json.Nodes;
using LoadBalancer.Core.Config;
using Tomlyn.Syntax;

namespace LoadBalancer.Core.Management;

/// <summary>
/// Makes one <c>[[tenants]]</c>, <c>[[pools]]</c> or <c>[[consumers]]</c> table of lb.toml say what a JSON object says,
/// changing as little text as it can, so the operator's comments, order and layout survive. Tomlyn's syntax tree gives
/// the exact place of every table, key and value; the edits are made there, on the text it was parsed from:
/// <list type="bullet">
/// <item>a key whose value is unchanged is not touched (nor its comment);</item>
/// <item>a changed value is replaced in place, and the comment after it stays;</item>
/// <item>a removed key loses its line; a new key is added after the table's last key;</item>
/// <item><c>[[tenants.routes]]</c> are edited one by one the same way, removed whole, or appended after the last;</item>
/// <item>a new resource is appended after the last one of its kind, a deleted one is cut out with its sub-tables.</item>
/// </list>
/// Everything outside the edited resource stays byte for byte.
/// </summary>
internal sealed class TomlTableEditor
{
    private readonly string _text;
    private readonly List<TableSyntaxBase> _tables = [];
    private readonly List<string[]> _names = [];
    private readonly TextEdits _edits;

    public TomlTableEditor(string text, DocumentSyntax document)
    {
        _text = text;
        _edits = new TextEdits(text);
        foreach (var table in document.Tables)
        {
            _tables.Add(table);
            _names.Add(table.Name is null ? [] : [.. TomlConfigLoader.KeyParts(table.Name).Select(p => p.Name)]);
        }
    }

    /// <summary>A table header with the tables after it that belong to it (<c>[[tenants]]</c> and its <c>[[tenants.routes]]</c>).</summary>
    private readonly record struct Group(int Main, int End, string[] Prefix);

    /// <summary>The <c>[[kind]]</c> tables in file order: the n-th is the n-th element of the array.</summary>
    public int CountResources(string kind) => Groups(0, _tables.Count, [kind]).Count;

    /// <summary>
    /// Edits resource <paramref name="index"/> of <paramref name="kind"/> (as <paramref name="before"/> reads) to say
    /// <paramref name="after"/>; null deletes it. Returns the new text.
    /// </summary>
    public string Replace(string kind, int index, JsonObject before, JsonObject? after)
    {
        var group = Groups(0, _tables.Count, [kind])[index];
        if (after is null)
        {
            DeleteGroup(group);
        }
        else
        {
            Edit(group, before, after);
        }

        return _edits.Apply();
    }

    /// <summary>Appends a new resource after the last one of its kind (or at the end of the file). Returns the new text.</summary>
    public string Add(string kind, JsonObject resource)
    {
        var groups = Groups(0, _tables.Count, [kind]);
        var block = RenderGroup([kind], resource);
        if (groups.Count == 0)
        {
            _edits.Insert(_text.Length, (_text.Length == 0 || _text.EndsWith('\n') ? "" : "\n") + (_text.Length == 0 ? "" : "\n") + block);
        }
        else
        {
            InsertAfter(GroupEnd(groups[^1]), "\n" + block);
        }

        return _edits.Apply();
    }

    private List<Group> Groups(int from, int to, string[] prefix)
    {
        var groups = new List<Group>();
        for (var i = from; i < to; i++)
        {
            if (_tables[i] is TableArraySyntax && _names[i].AsSpan().SequenceEqual(prefix))
            {
                var end = i + 1;
                while (end < to && _names[end].Length > prefix.Length && _names[end].AsSpan(0, prefix.Length).SequenceEqual(prefix)
                    && !(_tables[end] is TableArraySyntax && _names[end].Length == prefix.Length))
                {
                    end++;
                }

                groups.Add(new Group(i, end, prefix));
            }
        }

        return groups;
    }

    private void Edit(Group group, JsonObject before, JsonObject after)
    {
        var main = _tables[group.Main];
        var added = new StringBuilder();
        var appended = new StringBuilder();
        var keys = new List<string>();
        foreach (var (key, _) in before)
        {
            keys.Add(key);
        }

        foreach (var (key, _) in after)
        {
            if (!before.ContainsKey(key))
            {
                keys.Add(key);
            }
        }

        foreach (var key in keys)
        {
            var old = before[key];
            var wanted = after.ContainsKey(key) ? after[key] : null;
            if (old is not null && wanted is not null && JsonNode.DeepEquals(old, wanted))
            {
                continue;
            }

            var keyValues = KeyValues(main, key);
            var subTables = SubTables(group, key);
            if (wanted is null)
            {
                DeleteKeyValues(keyValues);
                DeleteTables(subTables);
                continue;
            }

            if (old is not null && keyValues.Count == 1 && subTables.Count == 0 && KeyPartCount(keyValues[0]) == 1 && keyValues[0].Value is { } value)
            {
                var multiline = _text.AsSpan(value.Span.Start.Offset, value.Span.End.Offset + 1 - value.Span.Start.Offset).Contains('\n');
                _edits.Replace(value.Span.Start.Offset, value.Span.End.Offset + 1, TomlValueWriter.Value(wanted, multiline));
                continue;
            }

            var prefix = Append(group.Prefix, key);
            var elements = keyValues.Count == 0 ? Groups(group.Main + 1, group.End, prefix) : [];
            if (old is JsonArray oldItems && wanted is JsonArray newItems && IsTableArray(newItems)
                && elements.Count == oldItems.Count && elements.Count == subTables.Count(t => _names[t].Length == prefix.Length) && elements.Count > 0)
            {
                EditElements(elements, oldItems, newItems, prefix);
                continue;
            }

            DeleteKeyValues(keyValues);
            DeleteTables(subTables);
            if (IsSubTableArray(prefix) && wanted is JsonArray items && IsTableArray(items))
            {
                foreach (var item in items)
                {
                    appended.Append('\n').Append(RenderGroup(prefix, (JsonObject)item!));
                }
            }
            else
            {
                added.Append(TomlValueWriter.Key(key)).Append(" = ").Append(TomlValueWriter.Value(wanted, multiline: IsTableArray(wanted))).Append('\n');
            }
        }

        if (added.Length > 0)
        {
            InsertAfter(AfterLastKeyValue(main), added.ToString());
        }

        if (appended.Length > 0)
        {
            InsertAfter(GroupEnd(group), appended.ToString());
        }
    }

    /// <summary><c>[[tenants.routes]]</c>: changed ones edited in place, surplus ones removed, new ones appended after the last.</summary>
    private void EditElements(List<Group> elements, JsonArray before, JsonArray after, string[] prefix)
    {
        for (var i = 0; i < elements.Count; i++)
        {
            if (i >= after.Count)
            {
                DeleteGroup(elements[i]);
            }
            else if (!JsonNode.DeepEquals(before[i], after[i]))
            {
                Edit(elements[i], (JsonObject)before[i]!, (JsonObject)after[i]!);
            }
        }

        var appended = new StringBuilder();
        for (var i = elements.Count; i < after.Count; i++)
        {
            appended.Append('\n').Append(RenderGroup(prefix, (JsonObject)after[i]!));
        }

        if (appended.Length > 0)
        {
            InsertAfter(GroupEnd(elements[^1]), appended.ToString());
        }
    }

    /// <summary>A new table: header, then its keys (one a line), then its sub-table arrays (<c>[[tenants.routes]]</c>).</summary>
    private static string RenderGroup(string[] prefix, JsonObject resource)
    {
        var text = new StringBuilder("[[").Append(string.Join('.', prefix.Select(TomlValueWriter.Key))).Append("]]\n");
        var nested = new StringBuilder();
        foreach (var (key, value) in resource)
        {
            var childPrefix = Append(prefix, key);
            if (IsSubTableArray(childPrefix) && value is JsonArray items && IsTableArray(items))
            {
                foreach (var item in items)
                {
                    nested.Append('\n').Append(RenderGroup(childPrefix, (JsonObject)item!));
                }

                continue;
            }

            text.Append(TomlValueWriter.Key(key)).Append(" = ").Append(TomlValueWriter.Value(value!, multiline: IsTableArray(value))).Append('\n');
        }

        return text.Append(nested).ToString();
    }

    /// <summary>Keys lb.toml writes as arrays of tables under their resource; any other array is written inline.</summary>
    private static bool IsSubTableArray(string[] prefix) => prefix is ["tenants", "routes"];

    private static bool IsTableArray(JsonNode? node) => node is JsonArray { Count: > 0 } items && items.All(i => i is JsonObject);

    private static string[] Append(string[] prefix, string key) => [.. prefix, key];

    private static int KeyPartCount(KeyValueSyntax keyValue) => keyValue.Key is null ? 0 : TomlConfigLoader.KeyParts(keyValue.Key).Count;

    private static List<KeyValueSyntax> KeyValues(TableSyntaxBase table, string key)
    {
        var found = new List<KeyValueSyntax>();
        foreach (var keyValue in table.Items)
        {
            if (keyValue.Key is not null && TomlConfigLoader.KeyParts(keyValue.Key) is { Count: > 0 } parts && parts[0].Name == key)
            {
                found.Add(keyValue);
            }
        }

        return found;
    }

    /// <summary>The tables of the group under <paramref name="key"/> (<c>[tenants.rate_limit]</c>, <c>[[tenants.routes]]</c> and theirs).</summary>
    private List<int> SubTables(Group group, string key)
    {
        var prefix = Append(group.Prefix, key);
        var found = new List<int>();
        for (var i = group.Main + 1; i < group.End; i++)
        {
            if (_names[i].Length >= prefix.Length && _names[i].AsSpan(0, prefix.Length).SequenceEqual(prefix))
            {
                found.Add(i);
            }
        }

        return found;
    }

    private void DeleteKeyValues(List<KeyValueSyntax> keyValues)
    {
        foreach (var keyValue in keyValues)
        {
            _edits.Delete(LineStart(keyValue.Span.Start.Offset), keyValue.Span.End.Offset + 1);
        }
    }

    private void DeleteTables(List<int> tables)
    {
        foreach (var i in tables)
        {
            _edits.Delete(LineStart(_tables[i].Span.Start.Offset), _tables[i].Span.End.Offset + 1);
        }
    }

    /// <summary>
    /// Cuts a whole table with its sub-tables, and the comment lines right above its header (they describe it; a
    /// blank line ends them); and a blank line, when one is left on both sides.
    /// </summary>
    private void DeleteGroup(Group group)
    {
        var start = LineStart(_tables[group.Main].Span.Start.Offset);
        while (start > 0)
        {
            var previous = _text.LastIndexOf('\n', start - 2 < 0 ? 0 : start - 2) + 1;
            if (start - 1 < previous || !_text.AsSpan(previous, start - 1 - previous).TrimStart().StartsWith("#"))
            {
                break;
            }

            start = previous;
        }

        var end = GroupEnd(group);
        if (start >= 2 && _text[start - 1] == '\n' && _text[start - 2] == '\n')
        {
            if (end < _text.Length && _text[end] == '\n')
            {
                end++;
            }
            else if (end == _text.Length)
            {
                // The last table of the file: the blank line that set it apart goes with it.
                start--;
            }
        }

        _edits.Delete(start, end);
    }

    /// <summary>Just after the group's last table (its last line's newline), where a following table may be inserted.</summary>
    private int GroupEnd(Group group) => Math.Min(_text.Length, _tables[group.End - 1].Span.End.Offset + 1);

    private int AfterLastKeyValue(TableSyntaxBase table)
    {
        var last = table.Items.ChildrenCount > 0 ? table.Items.GetChild(table.Items.ChildrenCount - 1) : null;
        var end = last is not null ? last.Span.End.Offset : table.EndOfLineToken?.Span.End.Offset ?? table.Span.End.Offset;
        return Math.Min(_text.Length, end + 1);
    }

    /// <summary>Inserts at a line boundary: at the end of a file without a final newline, one is added first.</summary>
    private void InsertAfter(int offset, string text)
    {
        var needsNewline = offset > 0 && _text[offset - 1] != '\n';
        _edits.Insert(offset, needsNewline ? "\n" + text : text);
    }

    /// <summary>Back over the indentation before <paramref name="offset"/>, so a deleted line leaves no stray spaces.</summary>
    private int LineStart(int offset)
    {
        var start = offset;
        while (start > 0 && _text[start - 1] is ' ' or '\t')
        {
            start--;
        }

        return start > 0 && _text[start - 1] != '\n' ? offset : start;
    }
}
