using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LoadBalancer.Core.Management;

/// <summary>
/// JSON values written as TOML (1.0) values and keys, for the lines the management API adds to lb.toml: strings as basic
/// strings, whole numbers as integers, other numbers as floats, objects as inline tables. JSON has null and TOML
/// has not, so a null (and any other value without a TOML form) must have been refused (<see cref="FindUnwritable"/>) before writing.
/// </summary>
internal static class TomlValueWriter
{
    /// <summary>A value on one line; an array of tables may span lines (<paramref name="multiline"/>), one table per line.</summary>
    public static string Value(JsonNode node, bool multiline = false)
    {
        var text = new StringBuilder();
        Write(text, node, multiline);
        return text.ToString();
    }

    /// <summary>A key: bare when TOML allows it (A-Z a-z 0-9 _ -), else a quoted basic string.</summary>
    public static string Key(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length > 0 && key.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
        {
            return key;
        }

        var text = new StringBuilder();
        WriteString(text, key);
        return text.ToString();
    }

    /// <summary>
    /// The JSON path of the first value with no TOML form, and why; null when every value has one. Besides null (TOML
    /// has none), a number past TOML's ranges (an integer beyond 64 bits, a float beyond a double: 1e400 would be
    /// written "Infinity") and a string with a lone surrogate escape (no UTF-8 form) were found by fuzzing.
    /// </summary>
    public static (string Path, string Reason)? FindUnwritable(JsonNode? node, string path)
    {
        switch (node)
        {
            case null:
                return (path, "null has no TOML form (to remove a key, leave it out of a PUT or send null in a PATCH)");
            case JsonObject members:
                foreach (var (name, value) in members)
                {
                    if (FindUnwritable(value, path.Length == 0 ? name : path + "." + name) is { } found)
                    {
                        return found;
                    }
                }

                return null;
            case JsonArray items:
                for (var i = 0; i < items.Count; i++)
                {
                    if (FindUnwritable(items[i], $"{path}[{i}]") is { } found)
                    {
                        return found;
                    }
                }

                return null;
            default:
                return Unwritable(node.AsValue()) is { } reason ? (path, reason) : null;
        }
    }

    private static string? Unwritable(JsonValue value)
    {
        switch (value.GetValueKind())
        {
            case JsonValueKind.Number:
                var raw = value.ToJsonString();
                if (raw.IndexOfAny(['.', 'e', 'E']) < 0)
                {
                    return long.TryParse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _) ? null : $"{raw} has no TOML form (integers are 64-bit)";
                }

                if (!double.IsFinite(double.Parse(raw, NumberStyles.Float, CultureInfo.InvariantCulture)))
                {
                    return $"{raw} has no TOML form (floats are doubles)";
                }

                // A double that is not the number asked for (1e-400 underflows to 0, 0.2000000000000000000001 is 0.2)
                // would be written as another value: the editor's read-back check found it, and answered 500.
                var written = FloatText(raw);
                return SameNumber(written, value) ? null : $"{raw} has no TOML form (floats are doubles, and the nearest double is {written})";
            case JsonValueKind.String:
                try
                {
                    _ = value.GetValue<string>();
                    return null;
                }
                catch (InvalidOperationException)
                {
                    // System.Text.Json unescapes a string when it is read, and a lone surrogate throws then.
                    return "a string with a lone surrogate escape (\\ud800-\\udfff) has no TOML form";
                }

            default:
                return null;
        }
    }

    private static void Write(StringBuilder text, JsonNode node, bool multiline)
    {
        switch (node)
        {
            case JsonObject members:
                if (members.Count == 0)
                {
                    text.Append("{}");
                    return;
                }

                text.Append("{ ");
                var first = true;
                foreach (var (name, value) in members)
                {
                    if (!first)
                    {
                        text.Append(", ");
                    }

                    first = false;
                    text.Append(Key(name)).Append(" = ");
                    Write(text, value!, multiline: false);
                }

                text.Append(" }");
                return;
            case JsonArray items:
                if (multiline && items.Count > 0)
                {
                    text.Append("[\n");
                    foreach (var item in items)
                    {
                        text.Append("  ");
                        Write(text, item!, multiline: false);
                        text.Append(",\n");
                    }

                    text.Append(']');
                    return;
                }

                text.Append('[');
                for (var i = 0; i < items.Count; i++)
                {
                    if (i > 0)
                    {
                        text.Append(", ");
                    }

                    Write(text, items[i]!, multiline: false);
                }

                text.Append(']');
                return;
            default:
                WriteScalar(text, node.AsValue());
                return;
        }
    }

    private static void WriteScalar(StringBuilder text, JsonValue value)
    {
        switch (value.GetValueKind())
        {
            case JsonValueKind.String:
                WriteString(text, value.GetValue<string>());
                return;
            case JsonValueKind.True:
                text.Append("true");
                return;
            case JsonValueKind.False:
                text.Append("false");
                return;
            default:
                // JSON's number grammar is a subset of TOML's: an integer stays an integer, 0.5 or 1e3 a float.
                var raw = value.ToJsonString();
                if (raw.IndexOfAny(['.', 'e', 'E']) < 0)
                {
                    text.Append(raw);
                }
                else
                {
                    text.Append(FloatText(raw));
                }

                return;
        }
    }

    /// <summary>
    /// Whether the double's text is the number sent. System.Text.Json compares the two exactly, but throws
    /// (ArgumentOutOfRangeException) on an exponent past its range (5E-3122222...: found by the toml-value fuzz
    /// target); such a number underflowed or overflowed the double, so it is not the same.
    /// </summary>
    private static bool SameNumber(string written, JsonValue value)
    {
        try
        {
            return JsonNode.DeepEquals(JsonNode.Parse(written), value);
        }
        catch (ArgumentOutOfRangeException)
        {
            return false;
        }
    }

    /// <summary>A JSON number with a fraction or an exponent as a TOML float: the double's shortest round-trip form.</summary>
    private static string FloatText(string raw)
    {
        var round = double.Parse(raw, NumberStyles.Float, CultureInfo.InvariantCulture).ToString("R", CultureInfo.InvariantCulture);
        return round.IndexOfAny(['.', 'E', 'n', 'I']) < 0 ? round + ".0" : round.Replace("E+", "e", StringComparison.Ordinal).Replace("E", "e", StringComparison.Ordinal);
    }

    private static void WriteString(StringBuilder text, string value)
    {
        text.Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"':
                    text.Append("\\\"");
                    break;
                case '\\':
                    text.Append("\\\\");
                    break;
                case '\n':
                    text.Append("\\n");
                    break;
                case '\r':
                    text.Append("\\r");
                    break;
                case '\t':
                    text.Append("\\t");
                    break;
                default:
                    if (char.IsControl(c))
                    {
                        text.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        text.Append(c);
                    }

                    break;
            }
        }

        text.Append('"');
    }
}
