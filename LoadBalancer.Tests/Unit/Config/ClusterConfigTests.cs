using LoadBalancer.Core.Cluster;
using LoadBalancer.Core.Config;
using static LoadBalancer.Tests.Unit.Config.ConfigTestHelpers;

namespace LoadBalancer.Tests.Unit.Config;

/// <summary><c>[cluster]</c>: what compiles, what a reload keeps, and one refused snippet per rule.</summary>
[TestFixture]
public sealed class ClusterConfigTests
{
    // The [cluster] section starts at line 1; its first key is on line 2.
    private static string Toml(string cluster, string rateLimit = "rate_limit = { requests_per_second = 50, burst = 80 }") =>
        $"[cluster]\n{cluster}\n[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\n[[pools]]\nname = \"p\"\nbackends = [{{ address = \"127.0.0.1:9001\" }}]\n[[tenants]]\nname = \"t\"\nmatch = [\"t.example.com\"]\npool = \"p\"\n{rateLimit}\n";

    [Test]
    public void LoadText_ClusterWithRedis_MakesTheRateLimitClusterWide()
    {
        var result = Load(Toml("redis = \"127.0.0.1:6379\"\ninstance_id = \"lb-a\"\nsync_interval = \"50ms\""));

        Assert.That(result.Success, Is.True, () => string.Join("\n", result.Errors));
        var snapshot = result.Snapshot!;
        Assert.That((snapshot.Cluster!.Redis, snapshot.Cluster.InstanceId, snapshot.Cluster.SyncInterval), Is.EqualTo(("127.0.0.1:6379", "lb-a", TimeSpan.FromMilliseconds(50))));
        var tenant = snapshot.Tenants["t"];
        Assert.That(tenant.RateLimiter, Is.Null, "no local bucket beside the shared one");
        Assert.That((tenant.ClusterLimiter!.RequestsPerSecond, tenant.ClusterLimiter.Burst), Is.EqualTo((50L, 80L)));
        Assert.That((tenant.RequestsPerSecond, tenant.Burst), Is.EqualTo(((long?)50, (long?)80)));
        Assert.That(tenant.ClusterLimiter.InFallback, Is.True, "until the first round");
    }

    [Test]
    public void LoadText_ClusterWithoutRedis_OnlyNamesTheInstance()
    {
        var snapshot = Load(Toml("instance_id = \"edge-1\"")).Snapshot!;

        Assert.That((snapshot.Cluster!.Redis, snapshot.Cluster.InstanceId), Is.EqualTo(((string?)null, "edge-1")));
        Assert.That(snapshot.Tenants["t"].RateLimiter, Is.Not.Null);
        Assert.That(snapshot.Tenants["t"].ClusterLimiter, Is.Null);
    }

    [Test]
    public void LoadText_ClusterDefaults_HostNameAnd100ms()
    {
        var snapshot = Load(Toml("redis = \"redis.internal:6379\"")).Snapshot!;

        Assert.That(snapshot.Cluster!.InstanceId, Is.EqualTo(ClusterSettings.DefaultInstanceId()));
        Assert.That(ConfigValidator.IsInstanceId(snapshot.Cluster.InstanceId), Is.True);
        Assert.That(snapshot.Cluster.SyncInterval, Is.EqualTo(TimeSpan.FromMilliseconds(100)));
    }

    [Test]
    public void LoadText_WithPrevious_KeepsClusterStateAndUnchangedLimiters()
    {
        var first = Load(Toml("redis = \"127.0.0.1:6379\"")).Snapshot!;
        var same = ConfigLoader.LoadText(Toml("redis = \"127.0.0.1:6379\"\ninstance_id = \"renamed\""), FileName, first).Snapshot!;
        var changed = ConfigLoader.LoadText(Toml("redis = \"127.0.0.1:6379\"", "rate_limit = { requests_per_second = 60 }"), FileName, same).Snapshot!;
        var local = ConfigLoader.LoadText(Toml("instance_id = \"x\"", "rate_limit = { requests_per_second = 60 }"), FileName, changed).Snapshot!;

        Assert.That(same.Cluster!.State, Is.SameAs(first.Cluster!.State), "the last known instance count survives");
        Assert.That(same.Tenants["t"].ClusterLimiter, Is.SameAs(first.Tenants["t"].ClusterLimiter), "leased tokens stay valid");
        Assert.That(changed.Tenants["t"].ClusterLimiter, Is.Not.SameAs(first.Tenants["t"].ClusterLimiter));
        Assert.That(changed.Tenants["t"].ClusterLimiter!.RequestsPerSecond, Is.EqualTo(60));
        Assert.That((local.Tenants["t"].ClusterLimiter, local.Tenants["t"].RateLimiter?.RequestsPerSecond), Is.EqualTo(((ClusterRateLimiter?)null, (long?)60)));
    }

    [Test]
    public void LoadText_ShippedLbToml_WithItsClusterBlockUncommented_Loads()
    {
        var shipped = File.ReadAllLines(Path.Combine(TestContext.CurrentContext.TestDirectory, "lb.toml"));
        var uncommented = shipped.Select(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^# (\[cluster\]|redis =|instance_id =|sync_interval =)") ? l[2..] : l).ToList();
        Assert.That(uncommented.Count(l => !shipped.Contains(l)), Is.EqualTo(4), "the four lines of the block");

        var result = ConfigLoader.LoadText(string.Join("\n", uncommented), FileName);

        Assert.That(result.Success, Is.True, () => string.Join("\n", result.Errors));
        Assert.That((result.Snapshot!.Cluster!.Redis, result.Snapshot.Cluster.InstanceId), Is.EqualTo(("127.0.0.1:6379", "lb-a")));
        Assert.That(result.Snapshot.Tenants["acme"].ClusterLimiter, Is.Not.Null);
    }

    [TestCase("redis = \"127.0.0.1\"", 9)]
    [TestCase("redis = \"127.0.0.1:0\"", 9)]
    [TestCase("redis = \"1.2.3:6379\"", 9)]
    [TestCase("redis = \"bad host:6379\"", 9)]
    public void LoadText_RedisNotHostPort_IsRefused(string line, int column)
        => SingleError(Toml(line), "cluster.redis", 2, column, "must be host:port");

    [Test]
    public void LoadText_RedisIpv6_IsAccepted()
        => Assert.That(Load(Toml("redis = \"[::1]:6379\"")).Success, Is.True);

    [TestCase("instance_id = \"\"")]
    [TestCase("instance_id = \"lb a\"")]
    [TestCase("instance_id = \"lb\\\"a\"")]
    public void LoadText_InstanceIdNotSafe_IsRefused(string line)
        => SingleError(Toml(line), "cluster.instance_id", 2, 15, "letters, digits");

    [Test]
    public void LoadText_InstanceIdTooLong_IsRefused()
        => SingleError(Toml($"instance_id = \"{new string('a', 65)}\""), "cluster.instance_id", 2, 15, "must be 1..64");

    [TestCase("\"5ms\"")]
    [TestCase("\"11s\"")]
    [TestCase("\"soon\"")]
    public void LoadText_SyncIntervalOutOfRange_IsRefused(string value)
        => SingleError(Toml($"redis = \"127.0.0.1:6379\"\nsync_interval = {value}"), "cluster.sync_interval", 3, 17, "from 10ms to 10s");

    [Test]
    public void LoadText_SyncIntervalWithoutRedis_IsRefused()
        => SingleError(Toml("sync_interval = \"100ms\""), "cluster.sync_interval", 2, 17, "applies only with cluster.redis");

    [Test]
    public void LoadText_ClusterUnknownKey_SuggestsTheKey()
        => SingleError(Toml("redis_url = \"127.0.0.1:6379\""), "cluster.redis_url", 2, 1, "unknown key");

    [Test]
    public void LoadText_ClusterNotATable_IsRefused()
    {
        var result = Load("cluster = \"127.0.0.1:6379\"\n" + Toml("").Replace("[cluster]\n", "", StringComparison.Ordinal));

        Assert.That(result.Errors.Select(e => (e.Path, e.Message)), Has.Member(("cluster", "must be a table ([cluster])")));
    }
}
