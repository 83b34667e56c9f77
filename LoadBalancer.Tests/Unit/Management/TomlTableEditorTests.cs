using System.Text;
using System.Text.Json.Nodes;
using LoadBalancer.Core.Management;

namespace LoadBalancer.Tests.Unit.Management;

/// <summary>The editor changes only the edited table: every other byte of lb.toml, comments included, stays.</summary>
[TestFixture]
public sealed class TomlTableEditorTests
{
    private const string Toml = """
        # top comment
        [[listeners]]
        name = "web"
        listen = "127.0.0.1:0"

        # the acme tenant
        [[tenants]]
        name = "acme"            # keep me
        match = ["acme.example.com"]
        pool = "p"
        max_in_flight = 10       # in flight

        [[tenants.routes]]
        name = "chat"
        path_prefix = "/chat"    # chat comment

        [[tenants.routes]]
        name = "files"
        path_prefix = "/files"

        [[tenants]]
        name = "globex"
        match = ["globex.example.com"]
        pool = "p"

        # pools below
        [[pools]]
        name = "p"
        backends = [
          { address = "127.0.0.1:9001" },   # first
        ]

        """;

    private static (ConfigDocument Document, TomlTableEditor Editor) Open(string text = Toml)
    {
        var document = ConfigDocument.Parse(Encoding.UTF8.GetBytes(text), "lb.toml");
        return (document, new TomlTableEditor(document.Text, document.Syntax!));
    }

    private static string Patch(string kind, string name, string patch, string text = Toml)
    {
        var (document, editor) = Open(text);
        var (index, before) = document.Find(kind, name);
        var after = (JsonObject)JsonMergePatch.Apply(before, JsonNode.Parse(patch))!;
        var edited = editor.Replace(kind, index, before!, after);
        Assert.That(JsonNode.DeepEquals(ConfigDocument.Parse(Encoding.UTF8.GetBytes(edited), "lb.toml").Find(kind, name).Resource, after), Is.True, edited);
        return edited;
    }

    private static string Diff(string before, string after) => LineDiff.Unified(before, after);

    [Test]
    public void Replace_ChangedValue_OnlyThatValueChanges_CommentKept()
    {
        var edited = Patch("tenants", "acme", """{ "max_in_flight": 20 }""");

        Assert.That(edited, Is.EqualTo(Toml.Replace("max_in_flight = 10       # in flight", "max_in_flight = 20       # in flight")));
    }

    [Test]
    public void Replace_RemovedKey_LosesItsLine_AddedKey_AfterTheLastKey()
    {
        var edited = Patch("tenants", "acme", """{ "max_in_flight": null, "max_connections": 5 }""");

        Assert.That(edited, Is.EqualTo(Toml.Replace("max_in_flight = 10       # in flight\n", "max_connections = 5\n")));
    }

    [Test]
    public void Replace_OneRouteChanged_OnlyThatRouteLineChanges()
    {
        var edited = Patch("tenants", "acme", """{ "routes": [ { "name": "chat", "path_prefix": "/v2/chat" }, { "name": "files", "path_prefix": "/files" } ] }""");

        Assert.That(edited, Is.EqualTo(Toml.Replace("path_prefix = \"/chat\"    # chat comment", "path_prefix = \"/v2/chat\"    # chat comment")));
    }

    [Test]
    public void Replace_RouteAdded_AppendedAfterTheLastRoute_RouteRemoved_Cut()
    {
        var added = Patch("tenants", "acme", """{ "routes": [ { "name": "chat", "path_prefix": "/chat" }, { "name": "files", "path_prefix": "/files" }, { "name": "new", "path": "/x" } ] }""");
        var removed = Patch("tenants", "acme", """{ "routes": [ { "name": "chat", "path_prefix": "/chat" } ] }""");

        Assert.That(added, Is.EqualTo(Toml.Replace("path_prefix = \"/files\"\n", "path_prefix = \"/files\"\n\n[[tenants.routes]]\nname = \"new\"\npath = \"/x\"\n")));
        Assert.That(removed, Is.EqualTo(Toml.Replace("[[tenants.routes]]\nname = \"files\"\npath_prefix = \"/files\"\n\n", "")));
    }

    [Test]
    public void Replace_TenantWithoutRoutes_GetsRoutesAsTables()
    {
        var edited = Patch("tenants", "globex", """{ "routes": [ { "name": "r", "path_prefix": "/r" } ] }""");

        Assert.That(edited, Is.EqualTo(Toml.Replace("match = [\"globex.example.com\"]\npool = \"p\"\n", "match = [\"globex.example.com\"]\npool = \"p\"\n\n[[tenants.routes]]\nname = \"r\"\npath_prefix = \"/r\"\n")));
    }

    [Test]
    public void Replace_MultilineArrayChanged_StaysMultiline()
    {
        var edited = Patch("pools", "p", """{ "backends": [ { "address": "127.0.0.1:9001" }, { "address": "127.0.0.1:9002", "weight": 2 } ] }""");

        Assert.That(Diff(Toml, edited), Does.Contain("+  { address = \"127.0.0.1:9002\", weight = 2 },"));
        Assert.That(edited, Does.StartWith(Toml[..Toml.IndexOf("backends = [", StringComparison.Ordinal)]));
    }

    [Test]
    public void Replace_DeleteTenant_CutsItWithItsRoutes_RestUnchanged()
    {
        var (document, editor) = Open();
        var (index, before) = document.Find("tenants", "acme");

        var edited = editor.Replace("tenants", index, before!, null);

        var start = Toml.IndexOf("# the acme tenant", StringComparison.Ordinal);
        var end = Toml.IndexOf("[[tenants]]\nname = \"globex\"", StringComparison.Ordinal);
        Assert.That(edited, Is.EqualTo(Toml[..start] + Toml[end..]), "the comment right above goes with it, and one of the blank lines around");
    }

    [Test]
    public void Add_NewPool_AppendedAfterTheLastPool()
    {
        var (_, editor) = Open();

        var edited = editor.Add("pools", (JsonObject)JsonNode.Parse("""{ "name": "q", "balancer": "least-connections", "backends": [ { "address": "127.0.0.1:9003" } ] }""")!);

        Assert.That(edited, Is.EqualTo(Toml + "\n[[pools]]\nname = \"q\"\nbalancer = \"least-connections\"\nbackends = [\n  { address = \"127.0.0.1:9003\" },\n]\n"));
    }

    [Test]
    public void Add_FirstConsumer_AppendedAtTheEnd()
    {
        var (_, editor) = Open();

        var edited = editor.Add("consumers", (JsonObject)JsonNode.Parse("""{ "name": "c", "tenant": "acme", "keys": [ { "id": "k", "sha256": "x" } ], "quota": { "requests": 5, "period": "1d" } }""")!);

        Assert.That(edited, Is.EqualTo(Toml + "\n[[consumers]]\nname = \"c\"\ntenant = \"acme\"\nkeys = [\n  { id = \"k\", sha256 = \"x\" },\n]\nquota = { requests = 5, period = \"1d\" }\n"));
    }

    [Test]
    public void Replace_SameContent_EveryResourceOfTheShippedFile_ChangesNothing()
    {
        var shipped = File.ReadAllText(Path.Combine(TestContext.CurrentContext.TestDirectory, "lb.toml"));
        foreach (var kind in ConfigResourceKinds.All)
        {
            var (document, _) = Open(shipped);
            var resources = document.Resources(kind);
            for (var i = 0; i < resources.Count; i++)
            {
                var (_, editor) = Open(shipped);
                Assert.That(editor.Replace(kind, i, (JsonObject)resources[i]!, (JsonObject)resources[i]!.DeepClone()), Is.EqualTo(shipped), $"{kind}[{i}]");
            }
        }
    }

    [Test]
    public void Value_StringsAndKeys_AreEscapedForToml()
    {
        Assert.That(TomlValueWriter.Value(JsonValue.Create("a\"b\\c\n")!), Is.EqualTo("\"a\\\"b\\\\c\\n\""));
        Assert.That(TomlValueWriter.Key("X-Tenant"), Is.EqualTo("X-Tenant"));
        Assert.That(TomlValueWriter.Key("a.b"), Is.EqualTo("\"a.b\""));
        Assert.That(TomlValueWriter.Value(JsonNode.Parse("0.25")!), Is.EqualTo("0.25"));
        Assert.That(TomlValueWriter.Value(JsonNode.Parse("1.0")!), Is.EqualTo("1.0"));
        Assert.That(TomlValueWriter.Value(JsonNode.Parse("12")!), Is.EqualTo("12"));
    }

    [Test]
    public void Unified_OneLineChanged_OneHunkWithContext()
    {
        var diff = LineDiff.Unified("a\nb\nc\nd\ne\n", "a\nb\nC\nd\ne\n");

        Assert.That(diff, Is.EqualTo("--- a/lb.toml\n+++ b/lb.toml\n@@ -1,5 +1,5 @@\n a\n b\n-c\n+C\n d\n e\n"));
        Assert.That(LineDiff.Unified("x\n", "x\n"), Is.Empty);
    }
}
