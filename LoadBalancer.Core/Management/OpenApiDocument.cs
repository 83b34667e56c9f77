using LoadBalancer.Core.Admin;

namespace LoadBalancer.Core.Management;

/// <summary>
/// <c>GET /api/openapi.json</c>: the OpenAPI 3.1 document of the whole admin API, written by hand next to the code
/// (Management/openapi.json, embedded in the assembly) and held to <see cref="AdminRoutes"/> by a test.
/// </summary>
public static class OpenApiDocument
{
    public const string Path = "/api/openapi.json";

    private static readonly Lazy<byte[]> Bytes = new(() =>
    {
        using var stream = typeof(OpenApiDocument).Assembly.GetManifestResourceStream("LoadBalancer.Management.openapi.json")
            ?? throw new InvalidOperationException("openapi.json is not embedded");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    });

    public static byte[] Json => Bytes.Value;

    public static AdminResponse? TryHandle(AdminRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request is { Method: "GET", Path: Path } ? new AdminResponse(200, "application/json", Json) : null;
    }
}
