using System.Text.Json.Nodes;

namespace LoadBalancer.Core.Management;

/// <summary>JSON merge patch (RFC 7396): objects merge member by member, <c>null</c> removes a member, anything else replaces.</summary>
public static class JsonMergePatch
{
    /// <summary>The patched document; <paramref name="target"/> is not modified.</summary>
    public static JsonNode? Apply(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject members)
        {
            return patch?.DeepClone();
        }

        var result = target is JsonObject existing ? (JsonObject)existing.DeepClone() : new JsonObject();
        foreach (var (name, value) in members)
        {
            if (value is null)
            {
                result.Remove(name);
            }
            else
            {
                var merged = Apply(result[name], value);
                result[name] = merged;
            }
        }

        return result;
    }
}
