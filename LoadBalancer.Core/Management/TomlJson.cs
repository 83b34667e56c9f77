using System.Text.Json.Nodes;
using LoadBalancer.Core.Config;

namespace LoadBalancer.Core.Management;

/// <summary>
/// lb.toml as JSON with the same names: a table is an object (keys in file order), an array an array, and strings,
/// integers, floats and booleans the same values. <c>[[pools]]</c> and <c>pools = [{...}]</c> give the same JSON.
/// </summary>
internal static class TomlJson
{
    public static JsonNode? From(TomlNode node) => node.Kind switch
    {
        TomlNodeKind.Table => Table(node),
        TomlNodeKind.Array => Array(node),
        TomlNodeKind.String => JsonValue.Create(node.String),
        TomlNodeKind.Integer => JsonValue.Create(node.Integer),
        TomlNodeKind.Float => JsonValue.Create(node.Double),
        TomlNodeKind.Boolean => JsonValue.Create(node.Flag),

        // lb.toml has no date-time key (the loader refuses one wherever it is met), so there is nothing to show.
        _ => null,
    };

    private static JsonObject Table(TomlNode node)
    {
        var json = new JsonObject();
        foreach (var entry in node.Entries)
        {
            json[entry.Key] = From(entry.Value);
        }

        return json;
    }

    private static JsonArray Array(TomlNode node)
    {
        var json = new JsonArray();
        foreach (var item in node.Items)
        {
            json.Add(From(item));
        }

        return json;
    }
}
