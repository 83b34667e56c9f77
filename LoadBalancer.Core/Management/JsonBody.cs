using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Unicode;

namespace LoadBalancer.Core.Management;

/// <summary>
/// A management API request body as a JsonNode, or why it is not JSON. JsonNode.Parse checks UTF-8 and unescapes names
/// only when they are read, so invalid UTF-8 or a key with a lone surrogate escape would throw deep in a later edit
/// (fuzz findings, issue 19): both are refused here. String values are left to <see cref="TomlValueWriter.FindUnwritable"/>,
/// which names their path. A member named twice is refused at parse (AllowDuplicateProperties off): JsonObject would
/// throw ArgumentException when the edit enumerates it, and which of the two a merge patch means is not knowable.
/// </summary>
internal static class JsonBody
{
    private static readonly JsonDocumentOptions Strict = new() { AllowDuplicateProperties = false };

    public static JsonNode? Parse(ReadOnlySpan<byte> utf8, out string? error)
    {
        error = null;
        if (!Utf8.IsValid(utf8))
        {
            error = "it is not valid UTF-8";
            return null;
        }

        try
        {
            var node = JsonNode.Parse(utf8.IsEmpty ? "null"u8 : utf8, documentOptions: Strict);
            ReadKeys(node);
            return node;
        }
        catch (JsonException e)
        {
            error = e.Message;
        }
        catch (InvalidOperationException e)
        {
            error = e.Message;
        }

        return null;
    }

    private static void ReadKeys(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject members:
                foreach (var (_, value) in members)
                {
                    ReadKeys(value);
                }

                break;
            case JsonArray items:
                foreach (var item in items)
                {
                    ReadKeys(item);
                }

                break;
        }
    }
}
