using System.Text;

namespace LoadBalancer.Core.Admin;

/// <summary>What an admin handler answers.</summary>
public sealed record AdminResponse(int Status, string ContentType, byte[] Body)
{
    /// <summary>The <c>ETag</c> header's value (quoted), or null for none.</summary>
    public string? ETag { get; init; }

    public static AdminResponse Text(int status, string text) => new(status, "text/plain; charset=utf-8", Encoding.UTF8.GetBytes(text));

    public static AdminResponse Json(int status, string json) => new(status, "application/json", Encoding.UTF8.GetBytes(json));
}
