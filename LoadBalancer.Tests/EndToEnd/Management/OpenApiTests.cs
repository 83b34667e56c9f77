using System.Text;
using System.Text.Json;
using LoadBalancer.Core.Management;
using LoadBalancer.Tests.TestSupport;
using static LoadBalancer.Tests.EndToEnd.Management.AdminTokensTests;

namespace LoadBalancer.Tests.EndToEnd.Management;

/// <summary>
/// <c>GET /api/openapi.json</c> documents exactly what the admin listener answers: every documented (method, path) is
/// in <see cref="AdminRoutes"/> and answered by a real lb, every route is documented, and a path outside the table is 404.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class OpenApiTests
{
    private const string WriteSecret = "write-secret-0123456789";
    private static readonly string[] Methods = ["get", "put", "post", "patch", "delete"];

    [Test]
    [CancelAfter(30_000)]
    public async Task OpenApi_ListsExactlyTheImplementedRoutes_AndEachIsAnswered(CancellationToken cancellationToken)
    {
        await using var backend = ScriptedBackend.Start("s1");
        var toml = $"[admin]\nlisten = \"127.0.0.1:0\"\n{Tokens(("ops", WriteSecret, "write"))}\n"
            + TestConfigs.OneTenant(backend.Address)
            + "\n[[consumers]]\nname = \"c\"\ntenant = \"acme\"\nkeys = [ { id = \"k\", sha256 = \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\" } ]\n";
        await using var lb = await LbTestHost.StartAsync(toml);
        using var client = Client(lb, WriteSecret);

        using var served = await client.GetAsync("api/openapi.json", cancellationToken);
        using var document = JsonDocument.Parse(await served.Content.ReadAsStringAsync(cancellationToken));
        var root = document.RootElement;
        var documented = new List<(string Method, string Template)>();
        foreach (var path in root.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                Assert.That(Methods, Does.Contain(operation.Name), $"{path.Name}: {operation.Name}");
                Assert.That(operation.Value.TryGetProperty("responses", out _), Is.True, $"{operation.Name} {path.Name} has no responses");
                documented.Add((operation.Name.ToUpperInvariant(), path.Name));
            }
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That((int)served.StatusCode, Is.EqualTo(200));
            Assert.That(root.GetProperty("openapi").GetString(), Does.StartWith("3.1."));
            Assert.That(documented, Is.EquivalentTo(AdminRoutes.All), "documented = routed");
        }

        // Each route is answered by its handler, not the listener's 404 for unknown paths. Writes run as dry runs.
        var values = new Dictionary<string, string> { ["{pool}"] = "p", ["{address}"] = backend.Address, ["{name}"] = "acme" };
        foreach (var (method, template) in AdminRoutes.All)
        {
            var path = template;
            foreach (var (placeholder, value) in values)
            {
                path = path.Replace(placeholder, Uri.EscapeDataString(value), StringComparison.Ordinal);
            }

            path = path.Replace("/api/config/pools/acme", "/api/config/pools/p", StringComparison.Ordinal).Replace("/api/config/consumers/acme", "/api/config/consumers/c", StringComparison.Ordinal);
            var isConfigWrite = template.StartsWith("/api/config/", StringComparison.Ordinal) && method != "GET";
            using var request = new HttpRequestMessage(new HttpMethod(method), path.TrimStart('/') + (isConfigWrite ? "?dry_run=true" : ""))
            {
                Content = method is "PUT" or "PATCH" ? new StringContent("{}", Encoding.UTF8, "application/json") : null,
            };
            using var response = await client.SendAsync(request, cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            Assert.That((int)response.StatusCode == 404 && body == "not found\n", Is.False, $"{method} {path} is documented but not answered");
            Assert.That((int)response.StatusCode, Is.LessThan(500), $"{method} {path}: {body}");
        }

        using var unknown = await client.GetAsync("api/nothing-here", cancellationToken);
        Assert.That((int)unknown.StatusCode, Is.EqualTo(404));
        Assert.That(await unknown.Content.ReadAsStringAsync(cancellationToken), Is.EqualTo("not found\n"));
    }

    [Test]
    public void Document_IsValidOpenApi31_ByMicrosoftOpenApi()
    {
        // Microsoft.OpenApi (the reader ASP.NET Core uses) parses and validates it against the 3.1 rules.
        var (document, diagnostic) = Microsoft.OpenApi.OpenApiDocument.Parse(Encoding.UTF8.GetString(OpenApiDocument.Json), "json");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(diagnostic!.Errors, Is.Empty, () => string.Join("\n", diagnostic.Errors.Select(e => $"{e.Pointer}: {e.Message}")));
            Assert.That(diagnostic.Warnings, Is.Empty, () => string.Join("\n", diagnostic.Warnings.Select(e => $"{e.Pointer}: {e.Message}")));
            Assert.That(diagnostic.SpecificationVersion.ToString(), Does.Contain("3_1"));
            Assert.That(document!.Paths, Has.Count.EqualTo(AdminRoutes.All.Select(r => r.Template).Distinct().Count()));
        }
    }

    [Test]
    public void IsKnownPath_Templates_MatchOneSegmentPerParameter()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(AdminRoutes.IsKnownPath("/api/config/tenants/acme"), Is.True);
            Assert.That(AdminRoutes.IsKnownPath("/api/dashboard/"), Is.True);
            Assert.That(AdminRoutes.IsKnownPath("/api/config/tenants/acme/x"), Is.False);
            Assert.That(AdminRoutes.IsKnownPath("/api/config/widgets"), Is.False);
            Assert.That(AdminRoutes.IsKnownPath("/api/pools/p/backends//drain"), Is.False);
        }
    }
}
