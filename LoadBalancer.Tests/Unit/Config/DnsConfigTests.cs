using System.Net;
using LoadBalancer.Core.Config;
using LoadBalancer.Core.Dns;
using static LoadBalancer.Tests.Unit.Config.ConfigTestHelpers;

namespace LoadBalancer.Tests.Unit.Config;

/// <summary>Backends by DNS name and <c>[dns]</c>: what compiles, what a reload keeps, and one refused snippet per rule.</summary>
[TestFixture]
public sealed class DnsConfigTests
{
    // [dns] (when given) is lines 1-2; the pool's backends are on line 13 (line 11 without [dns]).
    private static string Toml(string backends, string? dns = null) =>
        (dns is null ? "" : $"[dns]\n{dns}\n")
        + $"[[listeners]]\nname = \"web\"\nlisten = \"127.0.0.1:0\"\n[[tenants]]\nname = \"t\"\nmatch = [\"t.test\"]\npool = \"p\"\n[[pools]]\nname = \"p\"\nslow_start = \"10s\"\nbackends = [{backends}]\n";

    [Test]
    public void LoadText_NamedBackend_CompilesToATargetWithNoBackendsYet()
    {
        var result = Load(Toml("{ address = \"127.0.0.1:9001\" }, { address = \"API.Internal:8443\", weight = 5 }"));

        Assert.That(result.Success, Is.True, () => string.Join("\n", result.Errors));
        var pool = result.Snapshot!.Pools["p"];
        var target = pool.DnsTargets.Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That((target.Entry, target.Host, target.Port, target.Weight), Is.EqualTo(("API.Internal:8443", "api.internal", 8443, 5)));
            Assert.That(pool.Backends.Select(b => b.Config.Address), Is.EqualTo(new[] { "127.0.0.1:9001" }), "a name adds backends only once it resolves");
            Assert.That(result.Snapshot.Dns, Is.EqualTo(DnsSettings.Default));
            Assert.That(result.Summary, Does.EndWith("1 pool, 2 backends"));
        }
    }

    [Test]
    public void LoadText_DnsSection_ServersAndClamps()
    {
        var dns = Load(Toml("{ address = \"api.internal:8443\" }", "servers = [\"127.0.0.1:5353\", \"10.0.0.2\", \"[::1]:53\", \"::2\"]\nmin_ttl = \"5s\"\nmax_ttl = \"10m\"\nhold = \"1m\"")).Snapshot!.Dns;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(dns.Servers, Is.EqualTo(new[] { IPEndPoint.Parse("127.0.0.1:5353"), IPEndPoint.Parse("10.0.0.2:53"), IPEndPoint.Parse("[::1]:53"), IPEndPoint.Parse("[::2]:53") }));
            Assert.That((dns.MinTtl, dns.MaxTtl, dns.Hold), Is.EqualTo((TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(1))));
        }
    }

    [Test]
    public void LoadText_WithPrevious_SameNameKeepsTheTarget_ChangedNameGetsANewOne()
    {
        var first = Load(Toml("{ address = \"api.internal:8443\" }")).Snapshot!;
        var same = ConfigLoader.LoadText(Toml("{ address = \"api.internal:8443\", weight = 2 }"), FileName, first).Snapshot!;
        var changed = ConfigLoader.LoadText(Toml("{ address = \"api2.internal:8443\" }"), FileName, same).Snapshot!;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(same.Pools["p"].DnsTargets.Single().SharesStateWith(first.Pools["p"].DnsTargets.Single()), Is.True);
            Assert.That(same.Pools["p"].DnsTargets.Single().Weight, Is.EqualTo(2));
            Assert.That(changed.Pools["p"].DnsTargets.Single().SharesStateWith(first.Pools["p"].DnsTargets.Single()), Is.False);
            Assert.That(first.Pools["p"].DnsTargets.Single().Weight, Is.EqualTo(1), "compiling a reload leaves the previous snapshot as it was");
        }
    }

    [TestCase("api..internal:8443")]
    [TestCase("api.internal")]
    [TestCase("api.internal:0")]
    [TestCase("-api.internal:80")]
    [TestCase("*.internal:80")]
    [TestCase("api_internal:80")]
    public void LoadText_BadBackendName_RefusedWithItsPosition(string address) =>
        SingleError(Toml($"{{ address = \"{address}\" }}"), "pools[0].backends[0].address", 11, 25, "IP address, localhost or a DNS name");

    [Test]
    public void LoadText_SameNameTwiceInAPool_Refused() =>
        SingleError(Toml("{ address = \"api.internal:80\" }, { address = \"API.internal:80\" }"), "pools[0].backends[1].address", 11, 58, "duplicate backend \"API.internal:80\"");

    [Test]
    public void LoadText_SameNameOtherPort_Accepted() =>
        Assert.That(Load(Toml("{ address = \"api.internal:80\" }, { address = \"api.internal:81\" }")).Success, Is.True);

    [Test]
    public void LoadText_BadDnsServer_Refused() =>
        SingleError(Toml("{ address = \"api.internal:80\" }", "servers = [\"ns.example:53\"]"), "dns.servers[0]", 2, 12, "must be an IP address");

    [Test]
    public void LoadText_EmptyDnsServers_Refused() =>
        SingleError(Toml("{ address = \"api.internal:80\" }", "servers = []"), "dns.servers", 2, 11, "at least one server");

    [Test]
    public void LoadText_MinTtlAboveMaxTtl_Refused() =>
        SingleError(Toml("{ address = \"api.internal:80\" }", "min_ttl = \"10m\"\nmax_ttl = \"1m\""), "dns.max_ttl", 3, 11, "must not be shorter than dns.min_ttl");

    [Test]
    public void LoadText_BadHold_Refused() =>
        SingleError(Toml("{ address = \"api.internal:80\" }", "hold = \"forever\""), "dns.hold", 2, 8, "must be a positive whole number");

    [Test]
    public void LoadText_UnknownDnsKey_Refused() =>
        SingleError(Toml("{ address = \"api.internal:80\" }", "timeout = \"1s\""), "dns.timeout", 2, 1, "unknown key");
}
