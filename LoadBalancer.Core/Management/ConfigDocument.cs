using System.Text;
using System.Text.Json.Nodes;
using LoadBalancer.Core.Config;
using Tomlyn.Syntax;

namespace LoadBalancer.Core.Management;

/// <summary>
/// lb.toml as the management API sees it at one moment: its bytes (and <see cref="ETag"/>), Tomlyn's syntax tree
/// (which the editor changes the text by) and the same content as JSON with lb.toml's key names.
/// </summary>
internal sealed class ConfigDocument
{
    private ConfigDocument(byte[] bytes, string text, DocumentSyntax? syntax, JsonObject? json, IReadOnlyList<ConfigError> syntaxErrors)
    {
        Bytes = bytes;
        Text = text;
        Syntax = syntax;
        Json = json;
        SyntaxErrors = syntaxErrors;
        ETag = ConfigEtag.Of(bytes);
    }

    public byte[] Bytes { get; }

    public string Text { get; }

    public string ETag { get; }

    /// <summary>Null when the file does not parse as TOML (<see cref="SyntaxErrors"/> says why).</summary>
    public DocumentSyntax? Syntax { get; }

    public JsonObject? Json { get; }

    public IReadOnlyList<ConfigError> SyntaxErrors { get; }

    public static ConfigDocument Parse(byte[] bytes, string path)
    {
        var text = Encoding.UTF8.GetString(bytes);
        var syntax = Tomlyn.Parsing.SyntaxParser.Parse(text, path, validate: true);
        if (syntax.HasErrors)
        {
            var errors = new List<ConfigError>();
            foreach (var diagnostic in syntax.Diagnostics)
            {
                if (diagnostic.Kind == DiagnosticMessageKind.Error)
                {
                    errors.Add(new ConfigError(path, diagnostic.Span.Start.Line + 1, diagnostic.Span.Start.Column + 1, "", diagnostic.Message));
                }
            }

            return new ConfigDocument(bytes, text, null, null, errors);
        }

        // Through text and back, so every value is backed the same way as a parsed request body, and DeepEquals
        // compares like with like.
        var json = JsonNode.Parse(TomlJson.From(TomlConfigLoader.BuildTree(syntax))!.ToJsonString())!.AsObject();
        return new ConfigDocument(bytes, text, syntax, json, []);
    }

    /// <summary>The resources of a kind, in file order (empty when lb.toml has none).</summary>
    public JsonArray Resources(string kind) => Json?[kind] as JsonArray ?? [];

    /// <summary>The index and JSON of the resource named <paramref name="name"/>, or (-1, null).</summary>
    public (int Index, JsonObject? Resource) Find(string kind, string name)
    {
        var resources = Resources(kind);
        for (var i = 0; i < resources.Count; i++)
        {
            if (resources[i] is JsonObject resource && resource["name"] is JsonValue value
                && value.GetValueKind() == System.Text.Json.JsonValueKind.String && value.GetValue<string>() == name)
            {
                return (i, resource);
            }
        }

        return (-1, null);
    }
}
