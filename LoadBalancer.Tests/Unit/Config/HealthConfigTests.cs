using LoadBalancer.Core.Config;
using LoadBalancer.Core.Routing;
using static LoadBalancer.Tests.Unit.Config.ConfigTestHelpers;

namespace LoadBalancer.Tests.Unit.Config;

/// <summary>Pool keys health, retries, outlier, slow_start: defaults, values, and one refused snippet per rule.</summary>
[TestFixture]
public sealed class HealthConfigTests
{
    private const string Head = """
        [[listeners]]
        name = "web"
        listen = "127.0.0.1:0"

        [[tenants]]
        name = "t"
        match = ["t.example.com"]
        pool = "p"

        [[pools]]
        name = "p"
        backends = [{ address = "127.0.0.1:9001" }, { address = "127.0.0.1:9002" }]

        """;

    // Line of the first key after Head.
    private const int Line = 13;

    private static PoolSnapshot LoadPool(string keys)
    {
        var result = Load(Head + keys);
        Assert.That(result.Success, Is.True, () => string.Join("\n", result.Errors));
        return result.Snapshot!.Pools["p"];
    }

    [Test]
    public void LoadText_NoResilienceKeys_Defaults()
    {
        var pool = LoadPool("");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(pool.HealthCheck, Is.Null);
            Assert.That(pool.AllDown, Is.EqualTo(AllDownPolicy.Fail));
            Assert.That(pool.Retries, Is.EqualTo(new RetrySettings { Attempts = 2, Budget = 0.2 }));
            Assert.That(pool.Outlier, Is.EqualTo(new OutlierSettings { ConsecutiveFailures = 5, BaseEjection = TimeSpan.FromSeconds(10), MaxEjectedShare = 0.5 }));
            Assert.That(pool.SlowStart, Is.EqualTo(TimeSpan.Zero));
        }
    }

    [Test]
    public void LoadText_AllKeysAsInTheIssue_Compiled()
    {
        var pool = LoadPool("""
            health = { type = "http", path = "/healthz", expect = "200-399", interval = "2s", timeout = "1s", rise = 2, fall = 3, all_down = "try-all" }
            retries = { attempts = 2, budget = 0.2 }
            outlier = { consecutive_failures = 5, base_ejection = "10s", max_ejected_share = 0.5 }
            slow_start = "30s"
            """);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(pool.HealthCheck, Is.EqualTo(new HealthCheckSettings
            {
                Kind = HealthCheckKind.Http,
                Path = "/healthz",
                ExpectMin = 200,
                ExpectMax = 399,
                Interval = TimeSpan.FromSeconds(2),
                Timeout = TimeSpan.FromSeconds(1),
                Rise = 2,
                Fall = 3,
            }));
            Assert.That(pool.AllDown, Is.EqualTo(AllDownPolicy.TryAll));
            Assert.That(pool.Retries.Budget, Is.EqualTo(0.2));
            Assert.That(pool.Outlier.MaxEjectedShare, Is.EqualTo(0.5));
            Assert.That(pool.SlowStart, Is.EqualTo(TimeSpan.FromSeconds(30)));
            Assert.That(pool.Backends.All(b => b.SlowStart == TimeSpan.FromSeconds(30)), Is.True);
        }
    }

    [Test]
    public void LoadText_EmptyHealthTable_TcpCheckWithDefaults()
    {
        var pool = LoadPool("health = {}\n");
        Assert.That(pool.HealthCheck, Is.EqualTo(new HealthCheckSettings()));
        Assert.That(pool.HealthCheck!.Kind, Is.EqualTo(HealthCheckKind.Tcp));
    }

    [Test]
    public void LoadText_SingleStatusAndIntegerShares_Accepted()
    {
        var pool = LoadPool("""
            health = { type = "http", expect = "204" }
            retries = { budget = 1 }
            outlier = { max_ejected_share = 0 }
            """);
        Assert.That((pool.HealthCheck!.ExpectMin, pool.HealthCheck.ExpectMax), Is.EqualTo((204, 204)));
        Assert.That(pool.Retries.Budget, Is.EqualTo(1.0));
        Assert.That(pool.Outlier.MaxEjectedShare, Is.EqualTo(0.0));
    }

    [Test]
    public void LoadText_Reload_KeepsRetryBudgetAndHealthState()
    {
        var first = Load(Head + "retries = { budget = 0.2 }\n").Snapshot!;
        first.Pools["p"].Backends[0].Drain();
        var second = ConfigLoader.LoadText(Head + "retries = { budget = 0.5 }\nslow_start = \"5s\"\n", FileName, first).Snapshot!;
        Assert.That(second.Pools["p"].RetryBudget, Is.SameAs(first.Pools["p"].RetryBudget));
        Assert.That(second.Pools["p"].Retries.Budget, Is.EqualTo(0.5));
        Assert.That(first.Pools["p"].Retries.Budget, Is.EqualTo(0.2), "compiling a reload must not change the live snapshot's ratio");
        Assert.That(second.Pools["p"].Backends[0].IsDrained, Is.True);
        Assert.That(second.Pools["p"].Backends[0].SlowStart, Is.EqualTo(TimeSpan.FromSeconds(5)));
    }

    [Test]
    public void LoadText_UnknownHealthKey_PointsAtKey() =>
        SingleError(Head + "health = { type = \"tcp\", intervall = \"2s\" }\n", "pools[0].health.intervall", Line, 26, "unknown key");

    [Test]
    public void LoadText_HealthNotATable_Refused() =>
        SingleError(Head + "health = \"http\"\n", "pools[0].health", Line, 10, "must be a table");

    [Test]
    public void LoadText_UnknownHealthType_Refused() =>
        SingleError(Head + "health = { type = \"icmp\" }\n", "pools[0].health.type", Line, 19, "must be \"tcp\" or \"http\"");

    [Test]
    public void LoadText_PathOnTcpCheck_Refused() =>
        SingleError(Head + "health = { path = \"/healthz\" }\n", "pools[0].health.path", Line, 19, "only applies to type = \"http\"");

    [Test]
    public void LoadText_ExpectOnTcpCheck_Refused() =>
        SingleError(Head + "health = { type = \"tcp\", expect = \"200\" }\n", "pools[0].health.expect", Line, 35, "only applies to type = \"http\"");

    [Test]
    public void LoadText_PathWithoutSlash_Refused() =>
        SingleError(Head + "health = { type = \"http\", path = \"healthz\" }\n", "pools[0].health.path", Line, 34, "starting with '/'");

    [Test]
    public void LoadText_PathWithSpace_Refused() =>
        SingleError(Head + "health = { type = \"http\", path = \"/a b\" }\n", "pools[0].health.path", Line, 34, "without spaces");

    [TestCase("2xx")]
    [TestCase("200-")]
    [TestCase("399-200")]
    [TestCase("200-600")]
    [TestCase("99")]
    public void LoadText_BadExpect_Refused(string expect) =>
        SingleError(Head + $"health = {{ type = \"http\", expect = \"{expect}\" }}\n", "pools[0].health.expect", Line, 36, "within 100..599");

    [Test]
    public void LoadText_BadInterval_Refused() =>
        SingleError(Head + "health = { interval = \"2\" }\n", "pools[0].health.interval", Line, 23, "with a unit");

    [Test]
    public void LoadText_TimeoutLongerThanInterval_Refused() =>
        SingleError(Head + "health = { interval = \"1s\", timeout = \"2s\" }\n", "pools[0].health.timeout", Line, 39, "must not exceed health.interval");

    [Test]
    public void LoadText_RiseZero_Refused() =>
        SingleError(Head + "health = { rise = 0 }\n", "pools[0].health.rise", Line, 19, "must be 1..100");

    [Test]
    public void LoadText_FallTooBig_Refused() =>
        SingleError(Head + "health = { fall = 101 }\n", "pools[0].health.fall", Line, 19, "must be 1..100");

    [Test]
    public void LoadText_FallNotAnInteger_Refused() =>
        SingleError(Head + "health = { fall = \"3\" }\n", "pools[0].health.fall", Line, 19, "must be an integer");

    [Test]
    public void LoadText_UnknownAllDown_Refused() =>
        SingleError(Head + "health = { all_down = \"panic\" }\n", "pools[0].health.all_down", Line, 23, "\"fail\" or \"try-all\"");

    [Test]
    public void LoadText_RetryAttemptsTooMany_Refused() =>
        SingleError(Head + "retries = { attempts = 11 }\n", "pools[0].retries.attempts", Line, 24, "must be 0..10");

    [Test]
    public void LoadText_RetryBudgetAboveOne_Refused() =>
        SingleError(Head + "retries = { budget = 1.5 }\n", "pools[0].retries.budget", Line, 22, "must be a share 0.0..1.0, not 1.5");

    [Test]
    public void LoadText_RetryBudgetNegative_Refused() =>
        SingleError(Head + "retries = { budget = -0.1 }\n", "pools[0].retries.budget", Line, 22, "not -0.1");

    [Test]
    public void LoadText_RetryBudgetAString_Refused() =>
        SingleError(Head + "retries = { budget = \"20%\" }\n", "pools[0].retries.budget", Line, 22, "must be a number, not a string");

    [Test]
    public void LoadText_UnknownRetryKey_Refused() =>
        SingleError(Head + "retries = { tries = 2 }\n", "pools[0].retries.tries", Line, 13, "unknown key");

    [Test]
    public void LoadText_NegativeConsecutiveFailures_Refused() =>
        SingleError(Head + "outlier = { consecutive_failures = -1 }\n", "pools[0].outlier.consecutive_failures", Line, 36, "must be 0..1000");

    [Test]
    public void LoadText_BadBaseEjection_Refused() =>
        SingleError(Head + "outlier = { base_ejection = \"0s\" }\n", "pools[0].outlier.base_ejection", Line, 29, "positive whole number");

    [Test]
    public void LoadText_MaxEjectedShareAboveOne_Refused() =>
        SingleError(Head + "outlier = { max_ejected_share = 2 }\n", "pools[0].outlier.max_ejected_share", Line, 33, "must be a share 0.0..1.0");

    [Test]
    public void LoadText_UnknownOutlierKey_Refused() =>
        SingleError(Head + "outlier = { consecutive_5xx = 5 }\n", "pools[0].outlier.consecutive_5xx", Line, 13, "unknown key");

    [Test]
    public void LoadText_BadSlowStart_Refused() =>
        SingleError(Head + "slow_start = \"30\"\n", "pools[0].slow_start", Line, 14, "with a unit");

    [Test]
    public void LoadText_SlowStartNotAString_Refused() =>
        SingleError(Head + "slow_start = 30\n", "pools[0].slow_start", Line, 14, "must be a string");
}
