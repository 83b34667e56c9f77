using System.Globalization;
using System.Text;
using LoadBalancer.Core.Balancing;
using LoadBalancer.Core.Config;
using NUnit.Framework;
using Tomlyn.Parsing;

namespace LoadBalancer.Tests.Unit.Config;

/// <summary>
/// The fast load path (Tomlyn's event parser, issue 20) must give what the syntax-tree path gives: the same tree for
/// every text the syntax-tree path accepts, and no tree at all (so the syntax-tree path reports) for every text it
/// refuses. Checked on the fuzz corpus of configs, the shipped lb.toml and layouts the event parser treats specially.
/// </summary>
[TestFixture]
public sealed class FastConfigPathTests
{
    private static readonly string[] Layouts =
    [
        "a = 1\na = 2",
        "[s]\nx = 1\n[s]\ny = 2",
        "a.b = 1\n[a]\nc = 2",
        "[a.b]\nx = 1\n[a]\ny = 2",
        "t = { x = 1 }\n[t]\ny = 2",
        "t = { x = 1 }\n[t.z]\ny = 2",
        "arr = [1]\n[[arr]]\nx = 1",
        "[[p]]\nname = 1\n[p.h]\nq = 1\n[p.h]\nr = 1",
        "[[p]]\nname = 1\n[p.h]\nq = 1\n[[p]]\nname = 2\n[p.h]\nq = 2",
        "[[a]]\nx = 1\n[[b]]\ny = 1\n[[a]]\nz = 1",
        "a = 1\n'a' = 2",
        "[[a]]\nx = 1\n[a.s]\nq = 1\n[[b]]\ny = 1\n[[a]]\nz = 1\n[a.s]\nq = 2",
        "a = [{ x = 1 }]\n[[b]]\ny = 1\n[[a]]\nz = 1",
        "[[a]]\nx = 1\n[[b]]\na = [1]\n[[a]]\nz = 1",
        "rate_limit.requests_per_second = 1\nrate_limit.burst = 2\nrate_limit.burst = 3",
        "rate_limit.requests_per_second = 1\nrate_limit.burst = 2",
        "x = \"unterminated\ny = 2",
        "k = 1 2",
        "d = 1979-05-27T07:32:00Z\nf = 1.5\nb = true\ns = 'lit'\nm = \"\"\"multi\nline\"\"\"\ne = \"esc\\tape\"",
        "\"quoted key\" = 1\n[\"quoted table\".inner]\nv = [1, [2, 3], { a = 4 }]",
        "[x]\n[x.y]\n[x.z]\nq = 1",
        "x = \"\\",
        "\"k\\u0065y\" = 1\n'lit.key' = 2\nbare-key_1 = 3\n[[t]]\nname = 1\n[[t]]\nname = 2",
        "a . b-c_d . \"e\" = 1\n[ x . 'y' ]\nz = 2\n[[ p ]]\nq = 3",
    ];

    private static IEnumerable<TestCaseData> Texts()
    {
        for (var i = 0; i < Layouts.Length; i++)
        {
            yield return new TestCaseData(Layouts[i]).SetName($"{{m}}_Layout_{i}");
        }

        var root = Root();
        yield return new TestCaseData(File.ReadAllText(Path.Combine(root, "lb.toml"))).SetName("{m}_ShippedLbToml");
        var corpus = Path.Combine(root, "LoadBalancer.Fuzz", "corpus", "config");
        if (Directory.Exists(corpus))
        {
            foreach (var file in Directory.GetFiles(corpus).Order(StringComparer.Ordinal))
            {
                yield return new TestCaseData(Encoding.UTF8.GetString(File.ReadAllBytes(file))).SetName($"{{m}}_Corpus_{Path.GetFileName(file)[..12]}");
            }
        }
    }

    [TestCaseSource(nameof(Texts))]
    public void FastTree_EqualsSyntaxTree_OrDeclines(string text)
    {
        var fast = TomlConfigLoader.TryBuildTreeFast(text);
        DocumentSyntaxResult slow;
        try
        {
            var document = SyntaxParser.Parse(text, "lb.toml", validate: true);
            slow = document.HasErrors ? new(null) : new(TomlConfigLoader.BuildTree(document));
        }
        catch (Exception e) when (e is Tomlyn.TomlException or ArgumentOutOfRangeException)
        {
            slow = new(null);
        }

        if (slow.Tree is null)
        {
            Assert.That(fast, Is.Null, "the fast path accepted a text the syntax-tree path refuses");
            return;
        }

        if (fast is not null)
        {
            Assert.That(Render(fast), Is.EqualTo(Render(slow.Tree)));
        }
    }

    [TestCaseSource(nameof(Texts))]
    public void LoadText_EqualsSyntaxTreePath(string text)
    {
        var both = ConfigLoader.LoadText(text, "lb.toml");
        var slow = ConfigLoader.LoadThroughSyntaxTree(text, "lb.toml", null, BalancerRegistry.Default);
        Assert.That(both.Success, Is.EqualTo(slow.Success));
        Assert.That(both.Errors.Select(e => e.ToString()), Is.EqualTo(slow.Errors.Select(e => e.ToString())));
        Assert.That(both.Summary, Is.EqualTo(slow.Summary));
    }

    /// <summary>The equality above would hold trivially if the fast path always declined: it must take the usual layouts.</summary>
    [Test]
    public void FastTree_SharesOneStringPerKeyName()
    {
        // Issue 20: a bare key repeated in every tenant is one string, not one per table.
        var root = TomlConfigLoader.TryBuildTreeFast("[[t]]\nname = 1\n[[t]]\nname = 2")
            ?? throw new AssertionException("the fast path declined");
        var tables = root.Get("t")!.Items;
        Assert.That(tables[0].Entries[0].Key, Is.EqualTo("name"));
        Assert.That(tables[1].Entries[0].Key, Is.SameAs(tables[0].Entries[0].Key));
    }

    [Test]
    public void FastPath_TakesTheShippedFileAndPerTenantPools()
    {
        var many = new StringBuilder("[[listeners]]\nname = \"web\"\nlisten = \"127.0.0.1:0\"\n");
        for (var i = 0; i < 50; i++)
        {
            many.Append(CultureInfo.InvariantCulture, $"[[tenants]]\nname = \"t{i}\"\nmatch = [\"t{i}.test\"]\npool = \"p{i}\"\nrate_limit = {{ requests_per_second = 10, burst = 20 }}\n");
            many.Append(CultureInfo.InvariantCulture, $"[[pools]]\nname = \"p{i}\"\nbackends = [{{ address = \"127.0.0.1:{9000 + i}\" }}]\n[pools.health]\ntype = \"tcp\"\n");
        }

        Assert.That(TomlConfigLoader.TryLoadFast(File.ReadAllText(Path.Combine(Root(), "lb.toml")), "lb.toml"), Is.Not.Null);
        Assert.That(TomlConfigLoader.TryLoadFast(many.ToString(), "lb.toml"), Is.Not.Null);
        Assert.That(TomlConfigLoader.TryLoadFast(Layouts[8], "lb.toml"), Is.Null, "unknown keys are errors: the syntax-tree path reports them");
        Assert.That(TomlConfigLoader.TryBuildTreeFast(Layouts[8]), Is.Not.Null, "a [p.h] per [[p]] element is no repetition");
    }

    private sealed record DocumentSyntaxResult(TomlNode? Tree);

    private static string Root()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LoadBalancer.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("LoadBalancer.sln not found above the test directory");
    }

    /// <summary>Kinds, keys (sorted), values and the positions of values (a table's position is not compared: errors never use the fast tree).</summary>
    private static string Render(TomlNode node)
    {
        var text = new StringBuilder();
        Render(node, text);
        return text.ToString();
    }

    private static void Render(TomlNode node, StringBuilder text)
    {
        switch (node.Kind)
        {
            case TomlNodeKind.Table:
                text.Append('{');
                foreach (var entry in node.Entries.OrderBy(e => e.Key, StringComparer.Ordinal))
                {
                    text.Append(entry.Key).Append('=');
                    Render(entry.Value, text);
                    text.Append(',');
                }

                text.Append('}');
                break;
            case TomlNodeKind.Array:
                text.Append('[');
                foreach (var item in node.Items)
                {
                    Render(item, text);
                    text.Append(',');
                }

                text.Append(']');
                break;
            default:
                text.Append(CultureInfo.InvariantCulture, $"{node.Kind}:{node.String}|{node.Integer}|{node.Double}|{node.Flag}@{node.Position}");
                break;
        }
    }
}
