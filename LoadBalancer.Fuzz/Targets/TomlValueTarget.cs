using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LoadBalancer.Core.Management;

namespace LoadBalancer.Fuzz.Targets;

/// <summary>
/// TomlValueWriter, the encoder behind the management API's writes to lb.toml (issue 14): a JSON body's values become
/// TOML text that the next load reads. The input is a JSON value (what a client sends). Properties: a value that
/// FindUnwritable passes, written as <c>k = value</c> (on one line, and in the multi-line form lb uses for arrays of tables), reads back
/// through ConfigDocument (Tomlyn, then lb's TOML-to-JSON view, as the API reads lb.toml) as the same JSON value
/// (an integer as the same integer, another number as the same number, as JsonNode.DeepEquals sees it: the API refuses a float that only a nearby double could hold); no exception (input that is
/// not JSON is refused by JsonBody.Parse, as the API refuses it).
/// </summary>
internal static class TomlValueTarget
{
    private static readonly JsonDocumentOptions Strict = new() { MaxDepth = 32, AllowDuplicateProperties = false };

    public static void Run(ReadOnlySpan<byte> data)
    {
        // What the config API takes as a body; the rest it answers 400.
        var node = JsonBody.Parse(data, out _);
        if (node is null || TomlValueWriter.FindUnwritable(node, "") is not null)
        {
            return;
        }

        RoundTrip(node, multiline: false);
        if (node is JsonArray)
        {
            RoundTrip(node, multiline: true);
        }
    }

    private static void RoundTrip(JsonNode node, bool multiline)
    {
        var text = "k = " + TomlValueWriter.Value(node, multiline) + "\n";
        var document = ConfigDocument.Parse(Encoding.UTF8.GetBytes(text), "lb.toml");
        Check.That(document.Json is { } json && Same(node, json["k"]),
            $"{node.ToJsonString()} written as {text.TrimEnd()} reads back as {(document.Json?["k"]?.ToJsonString() ?? string.Join("; ", document.SyntaxErrors))}");
    }

    private static bool Same(JsonNode written, JsonNode? read)
    {
        switch (written)
        {
            case JsonObject members:
                if (read is not JsonObject readMembers || readMembers.Count != members.Count)
                {
                    return false;
                }

                var i = 0;
                foreach (var (name, value) in members)
                {
                    var (readName, readValue) = readMembers.GetAt(i++);
                    if (readName != name || !Same(value!, readValue))
                    {
                        return false;
                    }
                }

                return true;
            case JsonArray items:
                if (read is not JsonArray readItems || readItems.Count != items.Count)
                {
                    return false;
                }

                for (var j = 0; j < items.Count; j++)
                {
                    if (!Same(items[j]!, readItems[j]))
                    {
                        return false;
                    }
                }

                return true;
        }

        if (read is not JsonValue readValueNode || readValueNode.GetValueKind() is JsonValueKind.Object or JsonValueKind.Array)
        {
            return false;
        }

        var kind = written.GetValueKind();
        if (kind != JsonValueKind.Number)
        {
            return kind == read.GetValueKind() && JsonNode.DeepEquals(written, read);
        }

        var raw = written.ToJsonString();
        if (raw.AsSpan().IndexOfAny(".eE") < 0)
        {
            return read.GetValueKind() == JsonValueKind.Number && read.ToJsonString() == long.Parse(raw, System.Globalization.CultureInfo.InvariantCulture).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        // As strict as the API's own check (TomlValueWriter.FindUnwritable): the number read back is the number sent,
        // not merely the same double (1e-400 and 0 are one double, and the API refuses the former).
        return read.GetValueKind() == JsonValueKind.Number && JsonNode.DeepEquals(written, read);
    }
}
