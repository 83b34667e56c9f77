using LoadBalancer.Core.Balancing;
using LoadBalancer.Core.Config;
using LoadBalancer.Core.Routing;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.Unit.Config;

/// <summary>
/// A reload takes the sections of unchanged <c>[[tenants]]</c> and <c>[[pools]]</c> elements from the live snapshot's
/// load instead of parsing them again (issue 20, <see cref="ParsedTables"/>). Whatever it takes, the file it reads must
/// equal a whole-text parse of the same file field by field (positions and paths included, so errors and warnings point
/// where they should), and the snapshot must equal a full compile.
/// </summary>
[TestFixture]
public sealed class ParsedTablesReuseTests
{
    private const string File = ConfigTestHelpers.FileName;

    // Element layouts the cut must keep whole: sub-tables, arrays of sub-tables, multi-line arrays, comments, CRLF.
    private static readonly string[] Tenants =
    [
        "[[tenants]]\nname = \"t0\"\nmatch = [\"t0.test\"]\npool = \"p0\"\nrate_limit = { requests_per_second = 100, burst = 200 }\n",
        "[[tenants]]\nname = \"t1\"\nmatch = [\n  \"t1.test\",\n  \"www.t1.test\",\n]\npool = \"p1\"\n\n[[tenants.routes]]\nname = \"api\"\npath_prefix = \"/api\"\npool = \"p2\"\n",
        "[[tenants]]\n# a comment\nname = \"t2\"\nmatch = [\"t2.test\"]\npool = \"p2\"\n[tenants.rate_limit]\nrequests_per_second = 5\nburst = 10\n",
        "  [[tenants]]  \r\nname = \"t3\"\r\nmatch = [\"t3.test\"]\r\npool = \"p1\"\r\nmax_connections = 10\r\n",
    ];

    private static readonly string[] Pools =
    [
        "[[pools]]\nname = \"p0\"\nbackends = [{ address = \"127.0.0.1:9001\" }, { address = \"127.0.0.1:9002\" }]\n",
        "[[pools]]\nname = \"p1\"\nbackends = [\n  { address = \"127.0.0.1:9003\", weight = 2 },\n]\n[pools.health]\ntype = \"http\"\npath = \"/healthz\"\n",
        "[[pools]]\nname = \"p2\"\nbalancer = \"least-connections\"\nbackends = [{ address = \"127.0.0.1:9004\" }]\n",
    ];

    private const string Head = "# lb\n[server]\ndrain_timeout = \"5s\"\n\n[[listeners]]\nname = \"web\"\nlisten = \"127.0.0.1:0\"\n\n";

    private static string Toml(IEnumerable<string> tenants, IEnumerable<string> pools, string tail = "")
        => Head + string.Join("\n", tenants) + "\n" + string.Join("\n", pools) + tail;

    private static string Base => Toml(Tenants, Pools);

    private static string[] With(string[] items, int index, string item) => [.. items.Select((t, i) => i == index ? item : t)];

    public static IEnumerable<TestCaseData> Edits()
    {
        TestCaseData Edit(string name, string text, int reused) => new TestCaseData(text, reused).SetArgDisplayNames(name);

        yield return Edit("unchanged", Base, 7);
        yield return Edit("one tenant's limit changed", Toml(With(Tenants, 2, Tenants[2].Replace("= 5", "= 6", StringComparison.Ordinal)), Pools), 6);
        yield return Edit("a pool's backend changed", Toml(Tenants, With(Pools, 0, Pools[0].Replace("9002", "9012", StringComparison.Ordinal))), 6);
        // One more line in t1: every later element starts a line further down, so none of them is reused (positions).
        yield return Edit("a line added to a tenant", Toml(With(Tenants, 1, Tenants[1].Replace("pool = \"p1\"\n", "pool = \"p1\"\nmax_in_flight = 4\n", StringComparison.Ordinal)), Pools), 1);
        // Same lines, other indexes: the paths (tenants[i]) differ, so nothing is reused.
        yield return Edit("two tenants swapped", Toml([Tenants[1], Tenants[0], .. Tenants[2..]], Pools), 5);
        // The last tenant gone: the pools below start higher up, so only the three tenants are reused.
        yield return Edit("tenant removed", Toml(Tenants[..3], Pools), 3);
        yield return Edit("tenant added at the end", Toml([.. Tenants, "[[tenants]]\nname = \"t4\"\nmatch = [\"t4.test\"]\npool = \"p0\"\n"], Pools), 4);
        // The blank line before the new section is the last pool's text now, so that pool is read again.
        yield return Edit("a section after the pools", Toml(Tenants, Pools, "\n[access_log]\npath = \"-\"\n"), 6);
        yield return Edit("global change above the elements", Base.Replace("\"5s\"", "\"6s\"", StringComparison.Ordinal), 7);
    }

    [TestCaseSource(nameof(Edits))]
    public void Reload_Edit_ReadsWhatAWholeParseReads_CompilesWhatAFullCompileDoes(string edited, int reused)
    {
        var live = Load(Base, previous: null);

        var file = TomlConfigLoader.TryLoadFast(edited, File, live.ParsedTables, out var parsed) ?? throw new AssertionException("refused:\n" + edited);
        var whole = FullParse(edited);
        Validate(file);
        Validate(whole);
        Assert.That(StructuralEquality.Difference(whole, file), Is.Null);
        Assert.That(parsed!.Reused, Is.EqualTo(reused), "sections taken from the live load");

        var full = SnapshotCompiler.Compile(FullParseValidated(edited), File, live, BalancerRegistry.Default, incremental: false);
        full.RevertReplacedBackendConfigs();
        var reloaded = Load(edited, live);
        full.ParsedTables = reloaded.ParsedTables;
        Assert.That(StructuralEquality.Difference(full, reloaded), Is.Null);
    }

    [Test]
    public void WholeTextParse_PositionsOfLaterElements_AreTheSyntaxTrees()
    {
        // The first load parses the whole text; what it remembers is reused later, so its positions must be right too.
        var whole = TomlConfigLoader.TryLoadWhole(Base, File)!;

        Assert.That(StructuralEquality.Difference(FullParse(Base), whole), Is.Null);
        var headers = Base.Split('\n').Select((line, i) => (line.Trim(), i + 1)).Where(l => l.Item1 == "[[tenants]]").Select(l => l.Item2);
        Assert.That(whole.Tenants.Select(t => t.Position.Line), Is.EqualTo(headers));
    }

    [Test]
    public void Reload_ChainOfEdits_EachReadsWhatAWholeParseReads()
    {
        var live = Load(Base, previous: null);
        foreach (var data in Edits())
        {
            var edited = (string)data.Arguments[0]!;
            var file = TomlConfigLoader.TryLoadFast(edited, File, live.ParsedTables, out _)!;
            var whole = FullParse(edited);
            Validate(file);
            Validate(whole);
            Assert.That(StructuralEquality.Difference(whole, file), Is.Null, data.TestName);
            live = Load(edited, live);
        }
    }

    [Test]
    public void Reload_EditThatShiftsLines_ErrorsPointWhereAFreshLoadPoints()
    {
        var live = Load(Base, previous: null);
        // Two lines more in t0, and t3 (below them, unchanged text) now names a pool that does not exist.
        var edited = Toml(
            [Tenants[0].Replace("pool = \"p0\"\n", "pool = \"p0\"\nmax_in_flight = 4\nmax_body_bytes = 1000\n", StringComparison.Ordinal), Tenants[1], Tenants[2], Tenants[3].Replace("\"p1\"", "\"nope\"", StringComparison.Ordinal)],
            Pools);

        var reloaded = ConfigLoader.LoadText(edited, File, live);
        var fresh = ConfigLoader.LoadText(edited, File);

        Assert.That(reloaded.Success, Is.False);
        Assert.That(reloaded.Errors.Select(e => e.ToString()), Is.EqualTo(fresh.Errors.Select(e => e.ToString())));
        var line = edited.Split('\n').ToList().FindIndex(l => l.Contains("\"nope\"", StringComparison.Ordinal)) + 1;
        Assert.That(reloaded.Errors.Select(e => (e.Line, e.Path)), Does.Contain((line, "tenants[3].pool")));
    }

    [TestCase("tenant", "pool = \"p2\"\n[tenants.rate_limit]", "pol = \"p2\"\n[tenants.rate_limit]", "tenants[2].pol")]
    [TestCase("tenant", "= 5", "= \"5\"", "tenants[2].rate_limit.requests_per_second")]
    [TestCase("pool", "name = \"p2\"", "name = \"p2\"\nbalancr = \"random\"", "pools[2].balancr")]
    [TestCase("global", "drain_timeout = \"5s\"", "drain_timeot = \"5s\"", "server.drain_timeot")]
    public void Reload_ReadingErrorInAChangedPiece_IsRejectedWithAFreshLoadsErrors(string where, string from, string to, string path)
    {
        // What reading an element finds (an unknown key, a wrong type) refuses the reload as it refuses a fresh load.
        var live = Load(Base, previous: null);
        var edited = Base.Replace(from, to, StringComparison.Ordinal);
        Assert.That(edited, Is.Not.EqualTo(Base), where);

        var reloaded = ConfigLoader.LoadText(edited, File, live);
        var fresh = ConfigLoader.LoadText(edited, File);

        Assert.That(reloaded.Success, Is.False);
        Assert.That(reloaded.Errors.Select(e => e.ToString()), Is.EqualTo(fresh.Errors.Select(e => e.ToString())));
        Assert.That(reloaded.Errors.Select(e => e.Path), Does.Contain(path));
    }

    [Test]
    public void Reload_EditThatShiftsLines_UnchangedElementBelowIsReadAgainAtItsNewLine()
    {
        var live = Load(Base, previous: null);
        var edited = Toml([Tenants[0].Replace("pool = \"p0\"\n", "pool = \"p0\"\nmax_in_flight = 4\n", StringComparison.Ordinal), .. Tenants[1..]], Pools);

        var file = TomlConfigLoader.TryLoadFast(edited, File, live.ParsedTables, out _)!;

        var line = edited.Split('\n').ToList().FindIndex(l => l.Contains("name = \"t3\"", StringComparison.Ordinal)) + 1;
        Assert.That(file.Tenants[3].Name!.Position.Line, Is.EqualTo(line));
        Assert.That(live.ParsedTables!.Tenants[3].Section!.Name!.Position.Line, Is.EqualTo(line - 1), "the live load's section is left as it was");
    }

    [TestCase("[[tenants]] # with a comment\nname = \"t9\"\nmatch = [\"t9.test\"]\npool = \"p0\"\n")]
    [TestCase("[tenants.extra]\nx = 1\n")]
    [TestCase("tenants = []\n")]
    public void Pieces_Decline_TheWholeTextDecides(string odd)
    {
        // A tenants key outside an element is left to the whole-text parse (which accepts or refuses it as before).
        var text = Head + odd + "\n" + string.Join("\n", Tenants) + "\n" + string.Join("\n", Pools);

        var file = TomlConfigLoader.TryLoadFast(text, File, previous: null, out var parsed);

        Assert.That(parsed, Is.Null);
        Assert.That(StructuralEquality.Difference(TomlConfigLoader.TryLoadWhole(text, File), file), Is.Null);
    }

    [Test]
    public void Pieces_MultiLineStringHoldingAHeader_IsNotCutIntoAnotherMeaning()
    {
        var text = Toml(Tenants, Pools) + "\n[[consumers]]\nname = \"c\"\ntenants = [\"t0\"]\nnote = \"\"\"\n[[pools]]\nname = \"fake\"\n\"\"\"\n";

        var file = TomlConfigLoader.TryLoadFast(text, File, previous: null, out var parsed);

        Assert.That(parsed, Is.Null, "the consumer's piece ends inside its string, so the pieces decline");
        Assert.That(StructuralEquality.Difference(TomlConfigLoader.TryLoadWhole(text, File), file), Is.Null);
    }

    [Test]
    public void Reuse_TenantWithAccessKeysFile_IsReadEachTime()
    {
        var keys = Path.GetTempFileName();
        try
        {
            System.IO.File.WriteAllText(keys, "k1 0000000000000000000000000000000000000000000000000000000000000001\n");
            var text = Toml([.. Tenants, $"[[tenants]]\nname = \"t4\"\nmatch = [\"t4.test\"]\npool = \"p0\"\naccess_keys_file = \"{keys}\"\n"], Pools);
            var live = Load(text, previous: null);

            var again = Load(text, live);

            Assert.That(again.ParsedTables!.Reused, Is.EqualTo(7), "every element but t4");
            Assert.That(again.Tenants["t4"].SourceFingerprint, Is.EqualTo(live.Tenants["t4"].SourceFingerprint), "its keys read once, not twice");
        }
        finally
        {
            System.IO.File.Delete(keys);
        }
    }

    /// <summary>
    /// The syntax-tree parse, whose positions are the ones errors report. (The whole-text event parse gives the second
    /// and later element of an array of tables the position of the key before its header; a piece starts with its header.)
    /// </summary>
    private static LbConfigFile FullParse(string text)
    {
        var errors = new ConfigErrorList(File);
        var file = TomlConfigLoader.Load(text, errors);
        Assert.That(errors.Items, Is.Empty);
        return file ?? throw new AssertionException("the syntax-tree parse refused:\n" + text);
    }

    private static LbConfigFile FullParseValidated(string text)
    {
        var file = FullParse(text);
        Validate(file);
        return file;
    }

    private static void Validate(LbConfigFile file)
    {
        var errors = new ConfigErrorList(File);
        ConfigValidator.Validate(file, BalancerRegistry.Default, errors);
        Assert.That(errors.Items, Is.Empty);
    }

    private static RuntimeSnapshot Load(string text, RuntimeSnapshot? previous)
    {
        var loaded = ConfigLoader.LoadText(text, File, previous);
        Assert.That(loaded.Errors, Is.Empty, text);
        return loaded.Snapshot!;
    }
}
