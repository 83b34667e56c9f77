using NUnit.Framework;
using System.Net;
using System.Text;
using LoadBalancer.Core.Balancing;
using LoadBalancer.Core.Config;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;
using static LoadBalancer.Tests.Unit.Config.ConfigTestHelpers;

namespace LoadBalancer.Tests.Unit.Config;

[TestFixture]
public sealed class ConfigLoaderTests
{
    private static string ShippedPath => Path.Combine(TestContext.CurrentContext.TestDirectory, "lb.toml");

    private const string TwoBackends = """
        [[listeners]]
        name = "web"
        listen = "127.0.0.1:0"

        [[tenants]]
        name = "acme"
        match = ["acme.example.com"]
        pool = "p"

        [[pools]]
        name = "p"
        balancer = "round-robin"
        backends = [
          { address = "127.0.0.1:9001", weight = 1 },
          { address = "127.0.0.1:9002", weight = 1 },
        ]
        """;

    [Test]
    public void LoadFile_ShippedConfig_Succeeds()
    {
        var result = ConfigLoader.LoadFile(ShippedPath);

        Assert.That(result.Errors, Is.Empty, () => string.Join(Environment.NewLine, result.Errors));
        var snapshot = result.Snapshot!;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.Success, Is.True);
            Assert.That(snapshot.SourcePath, Is.EqualTo(ShippedPath));
            Assert.That(snapshot.AdminEndPoint, Is.EqualTo(IPEndPoint.Parse("127.0.0.1:9900")));
            Assert.That(snapshot.Listeners.Select(l => l.Name), Is.EqualTo(new[] { "web" }));
            Assert.That(snapshot.Tenants.Keys, Is.EquivalentTo(new[] { "acme", "globex", "initech" }));
            Assert.That(snapshot.Pools["acme-pool"].Backends.Select(b => b.Weight), Is.EqualTo(new[] { 1, 2 }));
            Assert.That(snapshot.Pools["globex-pool"].HashOn, Is.EqualTo(HashSource.ClientIp));
            Assert.That(snapshot.Tenants["acme"].Routes.Routes.Select(r => (r.Name, r.Pool.Name)), Is.EqualTo(new[] { ("chat", "acme-llm"), ("files", "acme-pool") }));
            Assert.That(result.Summary, Is.EqualTo($"{ShippedPath}: OK: 1 listener, 3 tenants, 3 pools, 5 backends"));
        }
    }

    [Test]
    public void LoadFile_ShippedConfig_CompilesListenerSettings()
    {
        var listener = ConfigLoader.LoadFile(ShippedPath).Snapshot!.Listeners[0];
        using (Assert.EnterMultipleScope())
        {
            Assert.That(listener.EndPoint, Is.EqualTo(IPEndPoint.Parse("127.0.0.1:8080")));
            Assert.That(listener.Listen, Is.EqualTo("127.0.0.1:8080"));
            Assert.That(listener.Protocol, Is.EqualTo(ListenerProtocol.Http));
            Assert.That(listener.TenantKey, Is.EqualTo(TenantKeyKind.Host));
            Assert.That(listener.DefaultTenant, Is.Null);
            Assert.That(listener.Limits.MaxHeadBytes, Is.EqualTo(16384));
            Assert.That(listener.Timeouts.RequestHead, Is.EqualTo(TimeSpan.FromSeconds(10)));
            Assert.That(listener.Tenants.Count, Is.EqualTo(4));
        }
    }

    [Test]
    public void LoadFile_Missing_ReturnsErrorAtStart()
    {
        var result = ConfigLoader.LoadFile(Path.Combine(TestContext.CurrentContext.WorkDirectory, "no-such-dir", "lb.toml"));

        Assert.That(result.Success, Is.False);
        Assert.That(result.Errors, Has.Count.EqualTo(1));
        Assert.That((result.Errors[0].Line, result.Errors[0].Column), Is.EqualTo((1, 1)));
        Assert.That(result.Errors[0].Message, Does.Contain("cannot read"));
        Assert.That(result.Summary, Does.EndWith("refused: 1 error"));
    }

    [Test]
    public void LoadText_EveryTruncationOfShippedConfig_NeverThrows()
    {
        var text = File.ReadAllText(ShippedPath);
        for (var length = 0; length < text.Length; length++)
        {
            ConfigLoadResult result = null!;
            Assert.DoesNotThrow(() => result = Load(text[..length]), $"cut at {length}");
            Assert.That(result.Success || result.Errors.Count > 0, Is.True, $"cut at {length}");
        }
    }

    [Test]
    public void LoadText_SeededMutationsOfShippedConfig_NeverThrow()
    {
        var text = File.ReadAllText(ShippedPath);
        const string alphabet = "[]{}=,.\"'#\n:*-_ 0aZ";
        var random = new Random(20240611);
        for (var i = 0; i < 2000; i++)
        {
            var chars = text.ToCharArray();
            for (var edits = random.Next(1, 4); edits > 0; edits--)
            {
                chars[random.Next(chars.Length)] = alphabet[random.Next(alphabet.Length)];
            }

            var mutated = new string(chars);
            ConfigLoadResult result = null!;
            Assert.DoesNotThrow(() => result = Load(mutated), mutated);
            Assert.That(result.Success || result.Errors.Count > 0, Is.True);
        }
    }

    [TestCase("limits = { max_head_bytes = 16")]
    [TestCase("match = [\"acme.example.com\", \"*.acme")]
    [TestCase("{ address = \"127.0.0.1:9001\", weight = 1 },")]
    [TestCase("timeouts = { connect = \"3s\", response_head = \"30")]
    [TestCase("[[tenants]]\nname = \"acme\"")]
    [TestCase("[[liste")]
    public void LoadText_ShippedConfigCutInside_ReportsErrors(string cutAfter)
    {
        var text = File.ReadAllText(ShippedPath).ReplaceLineEndings("\n");
        var at = text.IndexOf(cutAfter, StringComparison.Ordinal);
        Assert.That(at, Is.GreaterThanOrEqualTo(0), "the shipped config changed; update the cut points");

        var result = Load(text[..(at + cutAfter.Length)]);

        Assert.That(result.Success, Is.False);
        Assert.That(result.Errors, Is.Not.Empty);
        Assert.That(result.Errors.All(e => e.Line >= 1 && e.Column >= 1), Is.True);
    }

    [Test]
    public void LoadText_WithPrevious_ReusesBackendStatesByPoolAndAddress()
    {
        var first = Load(TwoBackends).Snapshot!;
        var kept = first.Pools["p"].Backends[0];
        kept.EnterInFlight();
        kept.IsAvailable = false;

        var changed = TwoBackends
            .Replace("{ address = \"127.0.0.1:9001\", weight = 1 }", "{ address = \"127.0.0.1:9001\", weight = 5 }", StringComparison.Ordinal)
            .Replace("127.0.0.1:9002", "127.0.0.1:9003", StringComparison.Ordinal);
        var second = ConfigLoader.LoadText(changed, FileName, previous: first).Snapshot!;

        var backends = second.Pools["p"].Backends;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(backends[0], Is.SameAs(kept));
            Assert.That(backends[0].InFlight, Is.EqualTo(1));
            Assert.That(backends[0].IsAvailable, Is.False);
            Assert.That(backends[0].Weight, Is.EqualTo(5));
            Assert.That(backends[1], Is.Not.SameAs(first.Pools["p"].Backends[1]));
            Assert.That(backends[1].Config.Address, Is.EqualTo("127.0.0.1:9003"));
        }
    }

    [Test]
    public void LoadText_WithPreviousUnchangedBackend_KeepsConfigInstance()
    {
        var first = Load(TwoBackends).Snapshot!;
        var config = first.Pools["p"].Backends[1].Config;

        var second = ConfigLoader.LoadText(TwoBackends, FileName, previous: first).Snapshot!;

        Assert.That(second.Pools["p"].Backends[1].Config, Is.SameAs(config));
    }

    [Test]
    public void LoadText_BackendStateInRenamedPool_IsNotReused()
    {
        var first = Load(TwoBackends).Snapshot!;
        var renamed = TwoBackends.Replace("\"p\"", "\"q\"", StringComparison.Ordinal);

        var second = ConfigLoader.LoadText(renamed, FileName, previous: first).Snapshot!;

        Assert.That(second.Pools["q"].Backends[0], Is.Not.SameAs(first.Pools["p"].Backends[0]));
    }

    [TestCase("acme.example.com", "acme")]
    [TestCase("ACME.example.com:8080", "acme")]
    [TestCase("eu.acme.example.com", "acme")]
    [TestCase("a.b.acme.example.com:443", "acme")]
    [TestCase("globex.example.com.", "globex")]
    [TestCase("acme.example.com.evil.com", null)]
    [TestCase("example.com", null)]
    public void Find_OnCompiledShippedConfig_RoutesByHost(string host, string? tenant)
    {
        var table = ConfigLoader.LoadFile(ShippedPath).Snapshot!.Listeners[0].Tenants;

        Assert.That(table.Find(Encoding.ASCII.GetBytes(host))?.Name, Is.EqualTo(tenant));
    }

    [Test]
    public void LoadText_TenantsWithListenersList_JoinOnlyThoseTables()
    {
        const string toml = """
            [[listeners]]
            name = "public"
            listen = "*:80"
            default_tenant = "b"

            [[listeners]]
            name = "internal"
            listen = "127.0.0.1:81"
            tenant_key = "header:X-Tenant"

            [[listeners]]
            name = "db"
            listen = "*:5432"
            protocol = "tcp"
            default_tenant = "b"

            [[tenants]]
            name = "a"
            match = ["alpha"]
            pool = "p"
            listeners = ["internal"]

            [[tenants]]
            name = "b"
            match = ["b.example.com"]
            pool = "p"

            [[pools]]
            name = "p"
            balancer = "weighted-hash"
            hash_on = "client-ip"
            backends = [{ address = "localhost:9001" }]
            """;

        var result = Load(toml);
        Assert.That(result.Errors, Is.Empty, () => string.Join("\n", result.Errors));
        var listeners = result.Snapshot!.Listeners;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(listeners[0].Tenants.Find("b.example.com"u8)?.Name, Is.EqualTo("b"));
            Assert.That(listeners[0].Tenants.Find("alpha"u8), Is.Null);
            Assert.That(listeners[0].DefaultTenant?.Name, Is.EqualTo("b"));
            Assert.That(listeners[1].TenantKey, Is.EqualTo(TenantKeyKind.Header));
            Assert.That(listeners[1].TenantHeader, Is.EqualTo("X-Tenant"));
            Assert.That(listeners[1].Tenants.Find("ALPHA"u8)?.Name, Is.EqualTo("a"));
            Assert.That(listeners[1].Tenants.Find("b.example.com"u8)?.Name, Is.EqualTo("b"));
            Assert.That(listeners[2].Protocol, Is.EqualTo(ListenerProtocol.Tcp));
            Assert.That(listeners[2].Tenants.Count, Is.Zero);
            Assert.That(listeners[2].DefaultTenant?.Name, Is.EqualTo("b"));
            Assert.That(result.Snapshot.Pools["p"].Backends[0].Config.EndPoint, Is.EqualTo(new IPEndPoint(IPAddress.Loopback, 9001)));
            Assert.That(result.Snapshot.AdminEndPoint, Is.Null);
        }
    }

    [Test]
    public void LoadText_NoServerSection_DrainTimeoutDefaultsTo30s()
    {
        Assert.That(Load(TwoBackends).Snapshot!.DrainTimeout, Is.EqualTo(TimeSpan.FromSeconds(30)));
    }

    [Test]
    public void LoadText_ServerDrainTimeout_IsCompiled()
    {
        var result = Load("[server]\ndrain_timeout = \"1500ms\"\n" + TwoBackends);

        Assert.That(result.Errors, Is.Empty, () => string.Join("\n", result.Errors));
        Assert.That(result.Snapshot!.DrainTimeout, Is.EqualTo(TimeSpan.FromMilliseconds(1500)));
    }

    [Test]
    public void LoadText_TimeoutsAndLimits_AreCompiled()
    {
        const string toml = """
            [[listeners]]
            name = "web"
            listen = "[::1]:8080"
            limits = { max_head_bytes = 1024, max_headers = 1000 }
            timeouts = { request_head = "250ms", keep_alive = "2m", body_idle = "1h" }

            [[pools]]
            name = "p"
            balancer = "least-connections"
            backends = [{ address = "[::1]:9001", weight = 1000 }]
            timeouts = { connect = "1s" }
            """;

        var snapshot = Load(toml).Snapshot!;
        var listener = snapshot.Listeners[0];
        var pool = snapshot.Pools["p"];
        using (Assert.EnterMultipleScope())
        {
            Assert.That(listener.EndPoint, Is.EqualTo(new IPEndPoint(IPAddress.IPv6Loopback, 8080)));
            Assert.That(listener.Limits, Is.EqualTo(new Core.Http.HttpLimits { MaxHeadBytes = 1024, MaxHeaders = 1000 }));
            Assert.That(listener.Timeouts.RequestHead, Is.EqualTo(TimeSpan.FromMilliseconds(250)));
            Assert.That(listener.Timeouts.KeepAlive, Is.EqualTo(TimeSpan.FromMinutes(2)));
            Assert.That(listener.Timeouts.BodyIdle, Is.EqualTo(TimeSpan.FromHours(1)));
            Assert.That(pool.Timeouts.Connect, Is.EqualTo(TimeSpan.FromSeconds(1)));
            Assert.That(pool.Timeouts.Idle, Is.EqualTo(PoolTimeouts.Default.Idle));
            Assert.That(pool.BalancerName, Is.EqualTo("least-connections"));
            Assert.That(pool.Backends[0].Weight, Is.EqualTo(1000));
        }
    }

    [Test]
    public void LoadText_BalancerOmitted_DefaultsToRoundRobin()
    {
        var result = Load("[[listeners]]\nname = \"web\"\nlisten = \"*:0\"\n[[pools]]\nname = \"p\"\nbackends = [{ address = \"127.0.0.1:1\" }]\n");

        Assert.That(result.Errors, Is.Empty, () => string.Join("\n", result.Errors));
        Assert.That(result.Snapshot!.Pools["p"].BalancerName, Is.EqualTo("round-robin"));
    }

    [Test]
    public void LoadText_BalancerOmittedAndNoRoundRobinRegistered_IsRefused()
    {
        var registry = new BalancerRegistry(BalancerRegistry.Default.Names.Where(n => n != "round-robin").Select(n => { BalancerRegistry.Default.TryGet(n, out var f); return f!; }));

        var result = ConfigLoader.LoadText("[[listeners]]\nname = \"web\"\nlisten = \"*:0\"\n[[pools]]\nname = \"p\"\nbackends = [{ address = \"127.0.0.1:1\" }]\n", FileName, registry: registry);

        Assert.That(result.Errors.Select(e => e.ToString()), Is.EqualTo(new[] { "lb.toml:4:3: pools[0].balancer: is required: the default round-robin is not registered (known: least-connections, weighted-hash)" }));
    }

    [Test]
    public void LoadText_TableHeaderAndDottedKeyForms_ReadLikeInlineTables()
    {
        const string toml = """
            listeners = [{ name = "web", listen = "*:80", limits.max_headers = 7 }]

            [[pools]]
            name = "p"
            balancer = "round-robin"
            [[pools.backends]]
            address = "127.0.0.1:1"
            [pools.timeouts]
            idle = "5s"
            """;

        var result = Load(toml);
        Assert.That(result.Errors, Is.Empty, () => string.Join("\n", result.Errors));
        Assert.That(result.Snapshot!.Listeners[0].Limits.MaxHeaders, Is.EqualTo(7));
        Assert.That(result.Snapshot.Pools["p"].Timeouts.Idle, Is.EqualTo(TimeSpan.FromSeconds(5)));
        Assert.That(result.Snapshot.Pools["p"].Backends, Has.Length.EqualTo(1));
    }
}
