using LoadBalancer.Core.Config;
using static LoadBalancer.Tests.Unit.Config.ConfigTestHelpers;

namespace LoadBalancer.Tests.Unit.Config;

/// <summary>[[consumers]] (issue 13): what compiles, and one refused snippet per rule.</summary>
[TestFixture]
public sealed class ConsumersConfigTests
{
    private const string Sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    private const string Sha2 = "1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    // Lines 1-13: listener, pool, tenant t with route chat; the consumer from line 14 ([[consumers]]), its keys on 17.
    private static string Toml(string consumerExtra, string keys = $"keys = [{{ id = \"c1\", sha256 = \"{Sha}\" }}]", string tenantExtra = "") =>
        "[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\n[[pools]]\nname = \"p\"\nbackends = [{ address = \"127.0.0.1:9001\" }]\n"
        + $"[[tenants]]\nname = \"t\"\nmatch = [\"t.example.com\"]\npool = \"p\"\n[[tenants.routes]]\nname = \"chat\"\n{(tenantExtra.Length == 0 ? "path = \"/chat\"" : tenantExtra)}\n"
        + $"[[consumers]]\nname = \"c\"\ntenant = \"t\"\n{keys}\n{consumerExtra}";

    [Test]
    public void LoadText_Consumer_CompilesIntoItsTenant()
    {
        var result = Load(Toml("rate_limit = { requests_per_second = 5 }\nquota = { requests = 100, period = \"month\" }\nroutes = [\"chat\"]"));
        Assert.That(result.Success, Is.True, () => string.Join("\n", result.Errors));
        var tenant = result.Snapshot!.Tenants["t"];
        var consumer = tenant.Consumers.Single();
        Assert.That((consumer.Name, consumer.RateLimiter!.Burst, consumer.QuotaLimit, consumer.Quota!.Period), Is.EqualTo(("c", 5L, 100L, Core.Consumers.QuotaPeriod.Month)));
        Assert.That(tenant.AccessKeys.Single().Consumer, Is.SameAs(consumer), "the key names its consumer");
        Assert.That((consumer.Subscribes(tenant.Routes.Routes[0]), consumer.Subscribes(tenant.Fallback!)), Is.EqualTo((true, false)));
    }

    [Test]
    public void LoadText_Reload_KeepsQuotaCounterWhilePeriodIsUnchanged()
    {
        var first = Load(Toml("quota = { requests = 100, period = \"day\" }")).Snapshot!;
        var same = ConfigLoader.LoadText(Toml("quota = { requests = 200, period = \"day\" }"), FileName, first).Snapshot!;
        var changed = ConfigLoader.LoadText(Toml("quota = { requests = 200, period = \"hour\" }"), FileName, same).Snapshot!;
        var quota = (Func<Core.Routing.RuntimeSnapshot, Core.Consumers.QuotaCounter>)(s => s.Tenants["t"].Consumers[0].Quota!);
        Assert.That(quota(same), Is.SameAs(quota(first)));
        Assert.That(same.Tenants["t"].Consumers[0].QuotaLimit, Is.EqualTo(200));
        Assert.That(quota(changed), Is.Not.SameAs(quota(first)));
    }

    [Test]
    public void LoadText_UnknownTenant_IsRefused()
        => SingleError(Toml("").Replace("tenant = \"t\"", "tenant = \"x\"", StringComparison.Ordinal), "consumers[0].tenant", 16, 10, "no tenant named \"x\"");

    [Test]
    public void LoadText_NoKeys_IsRefused()
        => SingleError(Toml("", keys: ""), "consumers[0].keys", 14, 3, "a consumer is known by its keys");

    [Test]
    public void LoadText_KeyIdAlsoATenantKey_IsRefused()
        => SingleError(Toml("", tenantExtra: $"path = \"/chat\"\n").Replace("pool = \"p\"\n", $"pool = \"p\"\naccess_keys = [{{ id = \"c1\", sha256 = \"{Sha2}\" }}]\n", StringComparison.Ordinal),
            "consumers[0].keys[0].id", 19, 16, "duplicate key id \"c1\"");

    [Test]
    public void LoadText_BadPeriod_IsRefused()
        => SingleError(Toml("quota = { requests = 10, period = \"week\" }"), "consumers[0].quota.period", 18, 35, "must be \"minute\", \"hour\", \"day\" or \"month\"");

    [Test]
    public void LoadText_QuotaWithoutRequests_IsRefused()
        => SingleError(Toml("quota = { period = \"day\" }"), "consumers[0].quota.requests", 18, 9, "is required");

    [Test]
    public void LoadText_UnknownRoute_IsRefused()
        => SingleError(Toml("routes = [\"chat\", \"files\"]"), "consumers[0].routes[1]", 18, 19, "tenant \"t\" has no route named \"files\"");

    [Test]
    public void LoadText_DuplicateConsumerName_IsRefused()
        => SingleError(Toml($"[[consumers]]\nname = \"c\"\ntenant = \"t\"\nkeys = [{{ id = \"c2\", sha256 = \"{Sha2}\" }}]"), "consumers[1].name", 19, 8, "duplicate consumer name \"c\"");

    [Test]
    public void LoadText_Reload_KeepsTheLedgerCellsSoCountsAreUnchanged()
    {
        var first = Load(Toml("quota = { requests = 100, period = \"day\" }")).Snapshot!;
        var reloaded = ConfigLoader.LoadText(Toml("quota = { requests = 100, period = \"day\" }\nrate_limit = { requests_per_second = 3 }"), FileName, first).Snapshot!;
        var cells = first.Tenants["t"].Cells;
        Assert.That(cells, Has.Length.EqualTo(4), "(none, c) x (none, chat)");
        Assert.That(reloaded.Tenants["t"].Cells, Is.EqualTo(cells).Using<Core.Usage.UsageCell>(ReferenceEquals), "the same live cells: a reload neither resets nor doubles what the ledger reads");
        Assert.That(cells.Select(c => (c.Consumer, c.Route)), Is.EqualTo(new[] { ("", ""), ("", "chat"), ("c", ""), ("c", "chat") }));
    }
}
