using Tomlyn.Parsing;

namespace LoadBalancer.Core.Config;

/// <summary>
/// The fast path: Tomlyn's event parser (no syntax tree, no trivia; ~75 ms and 8 MB for a 2.6 MB file where the two
/// syntax-tree parses took ~3 s and 440 MB) straight to <see cref="TomlNode"/>. It does not check TOML's
/// redefinition rules, so it gives up (null) on anything it cannot vouch for: a parse error, or a key met twice in
/// one table (a redefinition, or a valid but unusual layout such as <c>[a.b]</c> then <c>[a]</c>). The caller then
/// takes the syntax-tree path, which reports errors with their positions; so errors, and only they, cost the slow parse.
/// </summary>
internal static partial class TomlConfigLoader
{
    /// <summary>The tree of <paramref name="text"/>, or null when the syntax-tree path must decide.</summary>
    internal static TomlNode? TryBuildTreeFast(string text)
        => HasRepeatedHeader(text) ? null : TryBuildTreeFast(text, lineOffset: 0, new KeyNames());

    /// <summary>
    /// The tree of <paramref name="text"/>, a piece of a file that starts on line <paramref name="lineOffset"/> + 1 at
    /// column 1 (<see cref="TryLoadChunked"/>), so every position is the file's; the repeated-header check is the caller's.
    /// </summary>
    private static TomlNode? TryBuildTreeFast(string text, int lineOffset, KeyNames keys)
    {
        try
        {
            // Scalars decoded on demand: a key is then looked up by its span rather than made a string per table.
            var parser = TomlParser.Create(text, new TomlParserOptions { Mode = TomlParserMode.Tolerant, DecodeScalars = false });
            var stack = new Stack<TomlNode>();
            TomlNode? root = null;
            string? key = null;
            var keyPosition = SourcePosition.Start;
            (int Line, int Offset) closed = (0, -1);
            while (parser.MoveNext())
            {
                var e = parser.Current;
                var position = e.Line > 0 ? new SourcePosition(e.Line + lineOffset, e.Column) : keyPosition;
                TomlNode? value = null;
                switch (e.Kind)
                {
                    case TomlParseEventKind.StartDocument:
                    case TomlParseEventKind.EndDocument:
                        continue;
                    case TomlParseEventKind.PropertyName:
                        key = keys.Name(text, parser, e);
                        keyPosition = position;
                        continue;
                    case TomlParseEventKind.EndTable:
                    case TomlParseEventKind.EndArray:
                        closed = e.Span is { } next && e.Line > 0 ? (e.Line, next.Offset) : (0, -1);
                        stack.Pop();
                        continue;
                    case TomlParseEventKind.StartTable:
                        // The second and later [[name]] of an array come with no position and no key event; the header is
                        // the last [[ line before the token that closed the element before (the syntax tree's position).
                        if (e.Line == 0 && key is null && stack.TryPeek(out var parent) && parent is { Kind: TomlNodeKind.Array, IsTableArray: true, Items.Count: > 0 }
                            && HeaderBefore(text, closed.Line, closed.Offset) is { } header)
                        {
                            position = header with { Line = header.Line + lineOffset };
                        }

                        value = TomlNode.Table(position);
                        break;
                    case TomlParseEventKind.StartArray:
                        // Only an array of tables from [[headers]] comes without a position of its own.
                        value = TomlNode.Array(position, isTableArray: e.Line == 0);
                        break;
                    case TomlParseEventKind.String:
                        value = TomlNode.Text(e.StringValue ?? parser.GetString(), position);
                        break;
                    case TomlParseEventKind.Integer:
                        value = TomlNode.Number(e.GetInt64(), position);
                        break;
                    case TomlParseEventKind.Float:
                        value = TomlNode.Float(e.GetDouble(), position);
                        break;
                    case TomlParseEventKind.Boolean:
                        value = TomlNode.Boolean(e.GetBoolean(), position);
                        break;
                    default:
                        value = TomlNode.Other(TomlNodeKind.DateTime, position);
                        break;
                }

                if (stack.Count == 0)
                {
                    if (root is not null || value.Kind != TomlNodeKind.Table)
                    {
                        return null;
                    }

                    root = value;
                }
                else if (stack.Peek() is { Kind: TomlNodeKind.Array } array)
                {
                    array.Add(value);
                }
                else
                {
                    var table = stack.Peek();
                    if (key is null)
                    {
                        return null;
                    }

                    if (table.Get(key) is { } existing)
                    {
                        // [[tenants]], [[pools]], [[tenants]]: the event parser reopens the array; anything else met
                        // twice may be a redefinition, which the syntax-tree path judges.
                        if (existing is { Kind: TomlNodeKind.Array, IsTableArray: true } && value is { Kind: TomlNodeKind.Array, IsTableArray: true })
                        {
                            stack.Push(existing);
                            key = null;
                            continue;
                        }

                        return null;
                    }

                    table.Set(key, keyPosition, value);
                    key = null;
                }

                if (value.Kind is TomlNodeKind.Table or TomlNodeKind.Array)
                {
                    stack.Push(value);
                }
            }

            return parser.HasErrors || root is null || stack.Count != 0 ? null : root;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Whatever the event parser trips on, the syntax-tree path reports (or refuses) properly.
            return null;
        }
    }

    /// <summary>
    /// The position of the name in the last line starting with <c>[[</c> before <paramref name="offset"/> (on line
    /// <paramref name="line"/>), or null when there is none.
    /// </summary>
    private static SourcePosition? HeaderBefore(string text, int line, int offset)
    {
        if (line <= 0 || offset < 0 || offset > text.Length)
        {
            return null;
        }

        // From the token's own line (the part before it) upwards, one line at a time.
        for (var end = offset; ; line--)
        {
            var start = end == 0 ? 0 : text.LastIndexOf('\n', end - 1) + 1;
            var content = text.AsSpan(start, end - start);
            var indent = content.Length - content.TrimStart().Length;
            if (content[indent..].StartsWith("[["))
            {
                var name = indent + 2;
                while (name < content.Length && content[name] is ' ' or '\t')
                {
                    name++;
                }

                return new SourcePosition(line, name + 1);
            }

            if (start == 0 || line == 1)
            {
                return null;
            }

            end = start - 1;
        }
    }

    /// <summary>
    /// The event parser merges a reopened <c>[table]</c> header into the open table without a word, so headers are
    /// checked here: a <c>[name]</c> written twice (within one <c>[[array]]</c> element) declines the fast path. Coarse
    /// on purpose: a header with quotes, or a line inside a multi-line string that looks like a header, declines too,
    /// which only costs the slow parse.
    /// </summary>
    private static bool HasSubHeader(HashSet<string> seen, ReadOnlySpan<char> name)
    {
        foreach (var header in seen)
        {
            if (IsSubHeader(header, name))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsSubHeader(string header, ReadOnlySpan<char> name)
        => header.Length > name.Length && header[name.Length] == '.' && header.AsSpan().StartsWith(name, StringComparison.Ordinal);

    private static bool HasRepeatedHeader(string text)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var range in text.AsSpan().Split('\n'))
        {
            var line = text.AsSpan()[range].Trim();
            if (line.Length == 0 || line[0] != '[')
            {
                continue;
            }

            if (line.IndexOfAny('"', '\'') >= 0)
            {
                return true;
            }

            var close = line.IndexOf(']');
            if (close < 0)
            {
                return true;
            }

            // Strings only where a header is remembered or forgotten: a file of 10,000 [[tenants]] and [[pools]] made
            // five per header here (issue 20).
            var isArray = line.Length > 1 && line[1] == '[';
            var inner = line[(isArray ? 2 : 1)..close];
            var spaced = inner.ContainsAny(' ', '\t') ? string.Concat(inner.ToString().Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)) : null;
            if (isArray)
            {
                // A new element: the sub-tables of the previous one may be written again for this one.
                var name = spaced is null ? inner : spaced.AsSpan();
                if (HasSubHeader(seen, name))
                {
                    var prefix = name.ToString();
                    seen.RemoveWhere(header => IsSubHeader(header, prefix));
                }
            }
            else if (!seen.Add(spaced ?? inner.ToString()))
            {
                return true;
            }
        }

        return false;
    }
}
