namespace LoadBalancer.Core.Dashboard;

/// <summary>The dashboard's page, script and style sheet, embedded in the assembly (no CDN: it works offline).</summary>
internal static class DashboardAssets
{
    private static readonly Asset Page = Load("dashboard.html", "text/html; charset=utf-8");
    private static readonly Asset Script = Load("dashboard.js", "text/javascript; charset=utf-8");
    private static readonly Asset Style = Load("dashboard.css", "text/css; charset=utf-8");

    public sealed record Asset(string ContentType, byte[] Bytes);

    /// <summary>The asset served at <paramref name="path"/>, or null.</summary>
    public static Asset? Find(string path) => path switch
    {
        "/" or "/dashboard" => Page,
        "/dashboard.js" => Script,
        "/dashboard.css" => Style,
        _ => null,
    };

    private static Asset Load(string name, string contentType)
    {
        using var stream = typeof(DashboardAssets).Assembly.GetManifestResourceStream("LoadBalancer.Dashboard." + name)
            ?? throw new InvalidOperationException($"dashboard asset {name} is not embedded");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return new Asset(contentType, copy.ToArray());
    }
}
