using LoadBalancer.Core.Balancing;
using LoadBalancer.Core.Config;
using LoadBalancer.Core.Routing;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.Unit.Config;

/// <summary>
/// A reload compiles only what changed and reuses the live snapshot's other tenants and pools (issue 20); whatever it
/// reuses, the snapshot must equal, field by field, what a full compile of the same file against the same live
/// snapshot gives.
/// </summary>
[TestFixture]
public sealed class IncrementalCompileTests
{
    private sealed record Tenant(string Name, string Pool, string Host, int Rate = 0, string Routes = "", string Extra = "");

    private sealed record Pool(string Name, string Backends, string Extra = "");

    private static readonly Tenant[] BaseTenants =
    [
        new("t0", "p0", "t0.test", Rate: 100),
        new("t1", "p1", "t1.test", Routes: """

            [[tenants.routes]]
            name = "api"
            path_prefix = "/api"
            pool = "p2"
            """),
        new("t2", "p2", "t2.test", Rate: 50),
        new("t3", "p3", "t3.test", Extra: "max_connections = 10"),
        new("t4", "p3", "t4.test"),
        new("t5", "p5", "t5.test", Extra: """access_keys = [{ id = "k1", sha256 = "0000000000000000000000000000000000000000000000000000000000000001" }]"""),
    ];

    private static readonly Pool[] BasePools =
    [
        new("p0", """{ address = "127.0.0.1:9001" }, { address = "127.0.0.1:9002" }"""),
        new("p1", """{ address = "127.0.0.1:9003" }"""),
        new("p2", """{ address = "127.0.0.1:9004", weight = 2 }, { address = "127.0.0.1:9005" }""", Extra: "balancer = \"least-connections\""),
        new("p3", """{ address = "127.0.0.1:9006" }"""),
        new("p5", """{ address = "127.0.0.1:9007" }""", Extra: "balancer = \"weighted-hash\"\nhash_on = \"header:x-user\""),
    ];

    private static string Toml(IEnumerable<Tenant> tenants, IEnumerable<Pool> pools, string listenerExtra = "")
    {
        var text = new System.Text.StringBuilder($"""
            [[listeners]]
            name = "web"
            listen = "127.0.0.1:0"
            {listenerExtra}

            """);
        foreach (var t in tenants)
        {
            text.Append($"""

                [[tenants]]
                name = "{t.Name}"
                match = ["{t.Host}"]
                pool = "{t.Pool}"
                {(t.Rate > 0 ? $"rate_limit = {{ requests_per_second = {t.Rate}, burst = {t.Rate * 2} }}" : "")}
                {t.Extra}
                {t.Routes}

                """);
        }

        foreach (var p in pools)
        {
            text.Append($"""

                [[pools]]
                name = "{p.Name}"
                backends = [{p.Backends}]
                {p.Extra}

                """);
        }

        return text.ToString();
    }

    public static IEnumerable<TestCaseData> Edits()
    {
        TestCaseData Edit(string name, IEnumerable<Tenant> tenants, IEnumerable<Pool> pools, string[] recompiled, string listenerExtra = "")
            => new TestCaseData(Toml(tenants, pools, listenerExtra), recompiled).SetArgDisplayNames(name);

        Tenant[] With(int index, Tenant tenant) => [.. BaseTenants.Select((t, i) => i == index ? tenant : t)];
        Pool[] WithPool(int index, Pool pool) => [.. BasePools.Select((p, i) => i == index ? pool : p)];

        yield return Edit("unchanged", BaseTenants, BasePools, []);
        yield return Edit("tenant rate_limit changed", With(2, BaseTenants[2] with { Rate = 7 }), BasePools, ["t2"]);
        yield return Edit("tenant match changed", With(0, BaseTenants[0] with { Host = "other.test" }), BasePools, ["t0"]);
        yield return Edit("tenant added", [.. BaseTenants, new("t6", "p1", "t6.test")], BasePools, ["t6", "p1", "t1"]);
        yield return Edit("tenant added with its pool", [.. BaseTenants, new("t6", "p6", "t6.test")], [.. BasePools, new("p6", """{ address = "127.0.0.1:9010" }""")], ["t6", "p6"]);
        yield return Edit("tenant removed (sharing a pool)", BaseTenants.Where(t => t.Name != "t4"), BasePools, ["p3", "t3"]);
        yield return Edit("tenant and its pool removed", BaseTenants.Where(t => t.Name != "t0"), BasePools.Where(p => p.Name != "p0"), []);
        yield return Edit("tenant moved in the file", [BaseTenants[5], .. BaseTenants[..5]], BasePools, []);
        yield return Edit("tenant switched pool", With(4, BaseTenants[4] with { Pool = "p1" }), BasePools, ["t4", "p1", "t1", "p3", "t3"]);
        yield return Edit("route's pool changed", With(1, BaseTenants[1] with { Routes = BaseTenants[1].Routes.Replace("\"p2\"", "\"p0\"", StringComparison.Ordinal) }), BasePools, ["t1", "p0", "t0", "p2", "t2"]);
        yield return Edit("pool balancer changed", BaseTenants, WithPool(0, BasePools[0] with { Extra = "balancer = \"least-connections\"" }), ["p0", "t0"]);
        yield return Edit("backend weight changed", BaseTenants, WithPool(2, BasePools[2] with { Backends = """{ address = "127.0.0.1:9004", weight = 3 }, { address = "127.0.0.1:9005" }""" }), ["p2", "t2", "t1"]);
        yield return Edit("backend added", BaseTenants, WithPool(3, BasePools[3] with { Backends = """{ address = "127.0.0.1:9006" }, { address = "127.0.0.1:9011" }""" }), ["p3", "t3", "t4"]);
        yield return Edit("reformatted only", BaseTenants, WithPool(1, BasePools[1] with { Backends = """  { address  =  "127.0.0.1:9003" }  """ }), []);
    }

    [TestCaseSource(nameof(Edits))]
    public void Compile_Edit_EqualsFullCompile_ReusesOnlyUnchanged(string edited, string[] recompiled)
    {
        var live = Compile(Toml(BaseTenants, BasePools), previous: null, incremental: false);

        var full = Compile(edited, live, incremental: false);
        full.RevertReplacedBackendConfigs(); // the live backend states as they were, for the incremental compile
        var incremental = Compile(edited, live, incremental: true);

        Assert.That(StructuralEquality.Difference(full, incremental), Is.Null);
        using (Assert.EnterMultipleScope())
        {
            foreach (var (name, tenant) in incremental.Tenants)
            {
                var reused = live.Tenants.TryGetValue(name, out var old) && ReferenceEquals(old, tenant);
                Assert.That(reused, Is.EqualTo(!recompiled.Contains(name) && live.Tenants.ContainsKey(name)), $"tenant {name} reused");
            }

            foreach (var (name, pool) in incremental.Pools)
            {
                var reused = live.Pools.TryGetValue(name, out var old) && ReferenceEquals(old, pool);
                Assert.That(reused, Is.EqualTo(!recompiled.Contains(name) && live.Pools.ContainsKey(name)), $"pool {name} reused");
            }
        }

        // The weights are written into the live states by design (a rejected reload reverts them); nothing else is.
        incremental.RevertReplacedBackendConfigs();
        AssertLiveUnchanged(live);
    }

    [TestCase("timeouts = { keep_alive = \"5s\" }")]
    [TestCase("default_tenant = \"t1\"")]
    public void Compile_GlobalSectionChanged_CompilesEverything(string listenerExtra)
    {
        var live = Compile(Toml(BaseTenants, BasePools), previous: null, incremental: false);
        var edited = Toml(BaseTenants, BasePools, listenerExtra);

        var full = Compile(edited, live, incremental: false);
        var incremental = Compile(edited, live, incremental: true);

        Assert.That(StructuralEquality.Difference(full, incremental), Is.Null);
        Assert.That(incremental.Tenants.Values.Where(t => live.Tenants.Values.Contains(t)), Is.Empty, "no tenant reused");
        Assert.That(incremental.Pools.Values.Where(p => live.Pools.Values.Contains(p)), Is.Empty, "no pool reused");
    }

    [Test]
    public void Compile_ChainOfEdits_EachEqualsFullCompile()
    {
        // Reloads one after the other, each against the snapshot the incremental path made before.
        var live = Compile(Toml(BaseTenants, BasePools), previous: null, incremental: false);
        foreach (var data in Edits())
        {
            var edited = (string)data.Arguments[0]!;
            var full = Compile(edited, live, incremental: false);
            full.RevertReplacedBackendConfigs();
            var incremental = Compile(edited, live, incremental: true);
            Assert.That(StructuralEquality.Difference(full, incremental), Is.Null, data.TestName);
            live = incremental;
        }
    }

    [Test]
    public void Difference_OfChangedValue_IsFound()
    {
        // The comparer itself sees a difference deep in a tenant (so the equalities above mean something).
        var a = Compile(Toml(BaseTenants, BasePools), previous: null, incremental: false);
        var b = Compile(Toml(With2(BaseTenants, 3, BaseTenants[3] with { Extra = "max_connections = 11" }), BasePools), previous: a, incremental: false);
        Assert.That(StructuralEquality.Difference(a, b), Does.Contain("t3"));

        static Tenant[] With2(Tenant[] tenants, int index, Tenant tenant) => [.. tenants.Select((t, i) => i == index ? tenant : t)];
    }

    private static void AssertLiveUnchanged(RuntimeSnapshot live)
    {
        var again = Compile(Toml(BaseTenants, BasePools), previous: null, incremental: false);
        foreach (var (name, pool) in live.Pools)
        {
            Assert.That(pool.TenantStates.Select(s => s.Name), Is.EqualTo(again.Pools[name].TenantStates.Select(s => s.Name)), $"live pool {name}'s fair share");
            Assert.That(pool.Backends.Select(b => b.Config.Weight), Is.EqualTo(again.Pools[name].Backends.Select(b => b.Config.Weight)), $"live pool {name}'s weights");
        }
    }

    private static RuntimeSnapshot Compile(string toml, RuntimeSnapshot? previous, bool incremental)
    {
        var file = TomlConfigLoader.TryLoadFast(toml, ConfigTestHelpers.FileName) ?? throw new AssertionException("the fast loader refused:\n" + toml);
        var errors = new ConfigErrorList(ConfigTestHelpers.FileName);
        ConfigValidator.Validate(file, BalancerRegistry.Default, errors);
        Assert.That(errors.Items, Is.Empty, toml);
        return SnapshotCompiler.Compile(file, ConfigTestHelpers.FileName, previous, BalancerRegistry.Default, incremental);
    }
}
