using Tomlyn.Syntax;

namespace LoadBalancer.Core.Config;

/// <summary>Syntax tree to <see cref="TomlNode"/>: applies TOML's table rules while keeping every position.</summary>
internal static partial class TomlConfigLoader
{
    /// <summary>
    /// Only called on a document without syntax errors (Tomlyn's validation pass has refused redefinitions), so
    /// conflicts are resolved quietly here rather than reported twice.
    /// </summary>
    internal static TomlNode BuildTree(DocumentSyntax document)
    {
        var root = TomlNode.Table(SourcePosition.Start);
        foreach (var keyValue in document.KeyValues)
        {
            AddKeyValue(root, keyValue);
        }

        foreach (var table in document.Tables)
        {
            if (table.Name is null)
            {
                continue;
            }

            var parts = KeyParts(table.Name);
            if (parts.Count == 0)
            {
                continue;
            }

            var parent = root;
            for (var i = 0; i < parts.Count - 1; i++)
            {
                parent = Descend(parent, parts[i]);
            }

            var (name, position) = parts[^1];
            TomlNode current;
            if (table is TableArraySyntax)
            {
                var array = parent.Get(name);
                if (array is not { Kind: TomlNodeKind.Array, IsTableArray: true })
                {
                    array = TomlNode.Array(position, isTableArray: true);
                    parent.Set(name, position, array);
                }

                current = TomlNode.Table(position);
                array.Add(current);
            }
            else
            {
                current = parent.Get(name) is { Kind: TomlNodeKind.Table, IsImplicit: true } existing ? existing : TomlNode.Table(position);
                current.IsImplicit = false;
                parent.Set(name, position, current);
            }

            foreach (var keyValue in table.Items)
            {
                AddKeyValue(current, keyValue);
            }
        }

        return root;
    }

    private static void AddKeyValue(TomlNode table, KeyValueSyntax keyValue)
    {
        if (keyValue.Key is null || keyValue.Value is null)
        {
            return;
        }

        var parts = KeyParts(keyValue.Key);
        if (parts.Count == 0)
        {
            return;
        }

        var parent = table;
        for (var i = 0; i < parts.Count - 1; i++)
        {
            parent = Descend(parent, parts[i]);
        }

        var (name, position) = parts[^1];
        parent.Set(name, position, Convert(keyValue.Value));
    }

    /// <summary>Follows a dotted-key or header prefix, creating implicit tables; through an array of tables it enters the last one.</summary>
    private static TomlNode Descend(TomlNode parent, (string Name, SourcePosition Position) part)
    {
        var child = parent.Get(part.Name);
        if (child is { Kind: TomlNodeKind.Array, IsTableArray: true } && child.Items.Count > 0)
        {
            return child.Items[^1];
        }

        if (child is { Kind: TomlNodeKind.Table })
        {
            return child;
        }

        var created = TomlNode.Table(part.Position);
        created.IsImplicit = true;
        parent.Set(part.Name, part.Position, created);
        return created;
    }

    private static TomlNode Convert(ValueSyntax value)
    {
        var position = SourcePosition.From(value.Span.Start);
        switch (value)
        {
            case StringValueSyntax text:
                return TomlNode.Text(text.Value ?? "", position);
            case IntegerValueSyntax integer:
                return TomlNode.Number(integer.Value, position);
            case ArraySyntax array:
                var list = TomlNode.Array(position);
                foreach (var item in array.Items)
                {
                    if (item.Value is not null)
                    {
                        list.Add(Convert(item.Value));
                    }
                }

                return list;
            case InlineTableSyntax inline:
                var table = TomlNode.Table(position);
                foreach (var item in inline.Items)
                {
                    if (item.KeyValue is not null)
                    {
                        AddKeyValue(table, item.KeyValue);
                    }
                }

                return table;
            case FloatValueSyntax number:
                return TomlNode.Float(number.Value, position);
            case BooleanValueSyntax boolean:
                return TomlNode.Boolean(boolean.Value, position);
            default:
                return TomlNode.Other(TomlNodeKind.DateTime, position);
        }
    }

    internal static List<(string Name, SourcePosition Position)> KeyParts(KeySyntax key)
    {
        var parts = new List<(string, SourcePosition)>();
        AddPart(parts, key.Key);
        foreach (var dotted in key.DotKeys)
        {
            AddPart(parts, dotted.Key);
        }

        return parts;
    }

    private static void AddPart(List<(string, SourcePosition)> parts, BareKeyOrStringValueSyntax? part)
    {
        var name = part switch
        {
            BareKeySyntax bare => bare.Key?.Text,
            StringValueSyntax quoted => quoted.Value,
            _ => null,
        };

        if (name is not null && part is not null)
        {
            parts.Add((name, SourcePosition.From(part.Span.Start)));
        }
    }
}
