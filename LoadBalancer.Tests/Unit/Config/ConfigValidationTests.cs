using NUnit.Framework;
using LoadBalancer.Core.Config;
using static LoadBalancer.Tests.Unit.Config.ConfigTestHelpers;

namespace LoadBalancer.Tests.Unit.Config;

/// <summary>One refused snippet per rule: each asserts the path, the 1-based position and what the message says.</summary>
[TestFixture]
public sealed class ConfigValidationTests
{
    private const string Pool = """
        [[pools]]
        name = "p"
        balancer = "round-robin"
        backends = [{ address = "127.0.0.1:9001" }]
        """;

    [Test]
    public void LoadText_MissingValue_ReportsTomlynPosition()
    {
        var error = SingleError("[[listeners]]\nname = \"web\"\nlisten =\n", "", 3, 9, "expecting a value");
        Assert.That(error.ToString(), Does.StartWith("lb.toml:3:9: Unexpected token"));
    }

    [Test]
    public void LoadText_UnterminatedString_ReportsErrorsInFileOrderStartingAtTheString()
    {
        var result = Load("[[listeners]]\nname = \"web\nlisten = \"127.0.0.1:80\"\n");

        Assert.That(result.Success, Is.False);
        Assert.That(result.Errors[0].ToString(), Is.EqualTo("lb.toml:2:12: Invalid newline in a string"));
        Assert.That(result.Errors.Select(e => (e.Line, e.Column)), Is.Ordered);
    }

    [Test]
    public void LoadText_RedefinedKey_ReportsSecondDefinition()
    {
        SingleError("[admin]\nlisten = \"127.0.0.1:1\"\nlisten = \"127.0.0.1:2\"\n[[listeners]]\nname = \"a\"\nlisten = \"*:80\"\n", "", 3, 1, "already defined");
    }

    [Test]
    public void LoadText_UnknownRootKey_PointsAtKey()
    {
        SingleError("[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\n[[tennants]]\nname = \"x\"\n", "tennants", 4, 3, "unknown key");
    }

    [Test]
    public void LoadText_UnknownListenerKey_ListsExpectedKeys()
    {
        var error = SingleError("[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\n  lisen = \"*:81\"\n", "listeners[0].lisen", 4, 3, "unknown key");
        Assert.That(error.Message, Does.Contain("listen"));
    }

    [Test]
    public void LoadText_UnknownKeyInInlineTable_PointsAtKey()
    {
        SingleError(
            "[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\nlimits = { max_head_bytes = 2048, max_header = 5 }\n",
            "listeners[0].limits.max_header", 4, 35, "unknown key");
    }

    [Test]
    public void LoadText_UnknownBackendKey_PointsAtKey()
    {
        SingleError(
            "[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\n[[pools]]\nname = \"p\"\nbalancer = \"round-robin\"\nbackends = [{ address = \"127.0.0.1:1\", wieght = 2 }]\n",
            "pools[0].backends[0].wieght", 7, 40, "unknown key");
    }

    [Test]
    public void LoadText_DottedKeyUnknown_PointsAtLastPart()
    {
        SingleError("[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\ntimeouts.idle = \"1s\"\n", "listeners[0].timeouts.idle", 4, 10, "unknown key");
    }

    [Test]
    public void LoadText_WrongValueType_SaysExpectedType()
    {
        SingleError("[[listeners]]\nname = \"web\"\nlisten = 8080\n", "listeners[0].listen", 3, 10, "must be a string, not an integer");
    }

    [Test]
    public void LoadText_WeightAsString_SaysMustBeInteger()
    {
        SingleError(
            "[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\n" + Pool.Replace("9001\" }", "9001\", weight = \"2\" }", StringComparison.Ordinal),
            "pools[0].backends[0].weight", 7, 52, "must be an integer");
    }

    [Test]
    public void LoadText_ListenersNotArrayOfTables_SaysSo()
    {
        SingleError("[listeners]\nname = \"web\"\n", "listeners", 1, 2, "must be an array of tables");
    }

    [Test]
    public void LoadText_NoListeners_RequiresOne()
    {
        SingleError(Pool, "listeners", 1, 1, "at least one");
    }

    [Test]
    public void LoadText_EmptyListenersArray_RequiresOne()
    {
        SingleError("listeners = []\n", "listeners", 1, 13, "at least one listener");
    }

    [Test]
    public void LoadText_AdminWithoutListen_IsRefused()
    {
        SingleError("[admin]\n[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\n", "admin.listen", 1, 2, "is required");
    }

    [TestCase("0s")]
    [TestCase("30")]
    [TestCase("25h")]
    public void LoadText_BadDrainTimeout_IsRefused(string duration)
    {
        SingleError($"[server]\ndrain_timeout = \"{duration}\"\n[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\n", "server.drain_timeout", 2, 17, "at most 24h");
    }

    [Test]
    public void LoadText_DrainTimeoutNotAString_IsRefused()
    {
        SingleError("[server]\ndrain_timeout = 30\n[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\n", "server.drain_timeout", 2, 17, "must be a string");
    }

    [Test]
    public void LoadText_UnknownServerKey_ListsExpectedKeys()
    {
        var error = SingleError("[server]\ndrain = \"5s\"\n[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\n", "server.drain", 2, 1, "unknown key");
        Assert.That(error.Message, Does.Contain("drain_timeout"));
    }

    [Test]
    public void LoadText_ServerNotATable_IsRefused()
    {
        SingleError("server = \"x\"\n[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\n", "server", 1, 10, "must be a table");
    }

    [Test]
    public void LoadText_EmptyHeaderMatch_IsRefused()
    {
        SingleError(
            "[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\ntenant_key = \"header:X-Tenant\"\n" + Pool + "\n[[tenants]]\nname = \"t\"\nmatch = [\" \"]\npool = \"p\"\n",
            "tenants[0].match[0]", 11, 10, "must not be empty");
    }

    [Test]
    public void LoadText_MissingRequiredKey_PointsAtTableHeader()
    {
        SingleError("[[listeners]]\nname = \"web\"\n", "listeners[0].listen", 1, 3, "is required");
    }

    [Test]
    public void LoadText_MissingBackendAddress_PointsAtInlineTable()
    {
        SingleError(
            "[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\n[[pools]]\nname = \"p\"\nbalancer = \"round-robin\"\nbackends = [{ weight = 2 }]\n",
            "pools[0].backends[0].address", 7, 13, "is required");
    }

    [Test]
    public void LoadText_DuplicateListenerName_PointsAtSecond()
    {
        SingleError(
            "[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\n[[listeners]]\nname = \"web\"\nlisten = \"*:81\"\n",
            "listeners[1].name", 5, 8, "duplicate listener name \"web\"");
    }

    [Test]
    public void LoadText_DuplicateTenantName_PointsAtSecond()
    {
        SingleError(
            "[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\n" + Pool + "\n[[tenants]]\nname = \"t\"\nmatch = [\"a.com\"]\npool = \"p\"\n[[tenants]]\nname = \"t\"\nmatch = [\"b.com\"]\npool = \"p\"\n",
            "tenants[1].name", 13, 8, "duplicate tenant name \"t\"");
    }

    [Test]
    public void LoadText_DuplicatePoolName_PointsAtSecond()
    {
        SingleError(
            "[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\n" + Pool + "\n" + Pool,
            "pools[1].name", 9, 8, "duplicate pool name \"p\"");
    }

    [Test]
    public void LoadText_DuplicateListenAddress_PointsAtSecond()
    {
        SingleError(
            "[[listeners]]\nname = \"a\"\nlisten = \"127.0.0.1:8080\"\n[[listeners]]\nname = \"b\"\nlisten = \"127.0.0.1:8080\"\n",
            "listeners[1].listen", 6, 10, "overlaps listeners[0].listen");
    }

    [Test]
    public void LoadText_WildcardAndSpecificOnSamePort_Overlap()
    {
        SingleError(
            "[[listeners]]\nname = \"a\"\nlisten = \"*:8080\"\n[[listeners]]\nname = \"b\"\nlisten = \"127.0.0.1:8080\"\n",
            "listeners[1].listen", 6, 10, "overlaps");
    }

    [Test]
    public void LoadText_AdminOnListenerAddress_Overlaps()
    {
        SingleError("[admin]\nlisten = \"127.0.0.1:8080\"\n[[listeners]]\nname = \"a\"\nlisten = \"0.0.0.0:8080\"\n", "admin.listen", 2, 10, "overlaps listeners[0].listen");
    }

    [Test]
    public void LoadText_PortZeroTwice_IsNotAConflict()
    {
        var result = Load("[[listeners]]\nname = \"a\"\nlisten = \"127.0.0.1:0\"\n[[listeners]]\nname = \"b\"\nlisten = \"127.0.0.1:0\"\n");
        Assert.That(result.Errors, Is.Empty);
    }

    [TestCase("localhost:8080")]
    [TestCase("127.0.0.1")]
    [TestCase("::1:8080")]
    [TestCase("127.0.0.1:70000")]
    [TestCase("1:8080")]
    [TestCase("[127.0.0.1]:80")]
    public void LoadText_BadListenAddress_IsRefused(string listen)
    {
        SingleError($"[[listeners]]\nname = \"web\"\nlisten = \"{listen}\"\n", "listeners[0].listen", 3, 10, "must be IPv4:port, [IPv6]:port or *:port");
    }

    [TestCase("[::1]:8080")]
    [TestCase("*:8080")]
    [TestCase("0.0.0.0:8080")]
    [TestCase("[::]:8080")]
    public void LoadText_GoodListenAddress_IsAccepted(string listen)
    {
        Assert.That(Load($"[[listeners]]\nname = \"web\"\nlisten = \"{listen}\"\n").Errors, Is.Empty);
    }

    [Test]
    public void LoadText_UnknownProtocol_IsRefused()
    {
        SingleError("[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\nprotocol = \"udp\"\n", "listeners[0].protocol", 4, 12, "must be \"http\" or \"tcp\"");
    }

    [TestCase("hots")]
    [TestCase("header:")]
    [TestCase("header:X Tenant")]
    public void LoadText_BadTenantKey_IsRefused(string tenantKey)
    {
        SingleError($"[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\ntenant_key = \"{tenantKey}\"\n", "listeners[0].tenant_key", 4, 14, "\"header:<Name>\"");
    }

    [Test]
    public void LoadText_DefaultTenantMissing_IsRefused()
    {
        SingleError("[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\ndefault_tenant = \"nobody\"\n", "listeners[0].default_tenant", 4, 18, "no tenant named \"nobody\"");
    }

    [Test]
    public void LoadText_TcpListenerWithoutDefaultTenant_IsRefused()
    {
        SingleError("[[listeners]]\nname = \"db\"\nlisten = \"*:5432\"\nprotocol = \"tcp\"\n", "listeners[0]", 2, 8, "needs default_tenant");
    }

    [Test]
    public void Validate_SniOnHttpListener_IsRefused()
    {
        SingleError("[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\ntenant_key = \"sni\"\n", "listeners[0].tenant_key", 4, 14, "applies to tcp listeners only");
    }

    [Test]
    public void Validate_HostKeyOnTcpListener_IsRefused()
    {
        SingleError("[[listeners]]\nname = \"db\"\nlisten = \"*:5432\"\nprotocol = \"tcp\"\ntenant_key = \"host\"\ndefault_tenant = \"t\"\n" + Pool + "\n[[tenants]]\nname = \"t\"\nmatch = [\"a.com\"]\npool = \"p\"\nlisteners = []\n",
            "listeners[0].tenant_key", 5, 14, "can only use tenant_key = \"sni\"");
    }

    [Test]
    public void LoadText_TenantPoolMissing_IsRefused()
    {
        SingleError(
            "[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\n[[tenants]]\nname = \"t\"\nmatch = [\"a.com\"]\npool = \"nope\"\n",
            "tenants[0].pool", 7, 8, "no pool named \"nope\"");
    }

    [Test]
    public void LoadText_TenantListenerMissing_IsRefused()
    {
        SingleError(
            "[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\n" + Pool + "\n[[tenants]]\nname = \"t\"\nmatch = [\"a.com\"]\npool = \"p\"\nlisteners = [\"web\", \"api\"]\n",
            "tenants[0].listeners[1]", 12, 21, "no listener named \"api\"");
    }

    [Test]
    public void LoadText_TenantOnTcpListener_IsRefused()
    {
        SingleError(
            "[[listeners]]\nname = \"db\"\nlisten = \"*:5432\"\nprotocol = \"tcp\"\ndefault_tenant = \"t\"\n" + Pool + "\n[[tenants]]\nname = \"t\"\nmatch = [\"a.com\"]\npool = \"p\"\nlisteners = [\"db\"]\n",
            "tenants[0].listeners[0]", 14, 14, "is a tcp listener");
    }

    [Test]
    public void LoadText_EmptyMatch_IsRefused()
    {
        SingleError(
            "[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\n" + Pool + "\n[[tenants]]\nname = \"t\"\nmatch = []\npool = \"p\"\n",
            "tenants[0].match", 10, 9, "at least one");
    }

    [TestCase("bad_host.com", "not a valid host name")]
    [TestCase("-a.com", "not a valid host name")]
    [TestCase("a..com", "not a valid host name")]
    [TestCase("a.com:8080", "must not include a port")]
    [TestCase("*", "default_tenant")]
    [TestCase("x.*.com", "not a valid host name")]
    public void LoadText_BadHostMatch_IsRefused(string match, string says)
    {
        SingleError(
            "[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\n" + Pool + $"\n[[tenants]]\nname = \"t\"\nmatch = [\"ok.com\", \"{match}\"]\npool = \"p\"\n",
            "tenants[0].match[1]", 10, 20, says);
    }

    [Test]
    public void LoadText_PathPrefixWithoutSlash_IsRefused()
    {
        SingleError(
            "[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\ntenant_key = \"path-prefix\"\n" + Pool + "\n[[tenants]]\nname = \"t\"\nmatch = [\"acme\"]\npool = \"p\"\n",
            "tenants[0].match[0]", 11, 10, "starting with \"/\"");
    }

    [Test]
    public void LoadText_MatchClaimedByTwoTenants_PointsAtSecondClaim()
    {
        // Normalization makes these the same key: case and the trailing dot do not matter for hosts.
        SingleError(
            "[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\n" + Pool
            + "\n[[tenants]]\nname = \"a\"\nmatch = [\"acme.com\"]\npool = \"p\"\n[[tenants]]\nname = \"b\"\nmatch = [\"ACME.com.\"]\npool = \"p\"\n",
            "tenants[1].match[0]", 14, 10, "already claimed by tenant \"a\" on listener \"web\"");
    }

    [Test]
    public void LoadText_SameMatchOnDifferentListeners_IsAccepted()
    {
        var result = Load(
            "[[listeners]]\nname = \"a\"\nlisten = \"*:80\"\n[[listeners]]\nname = \"b\"\nlisten = \"*:81\"\n" + Pool
            + "\n[[tenants]]\nname = \"x\"\nmatch = [\"acme.com\"]\npool = \"p\"\nlisteners = [\"a\"]\n"
            + "[[tenants]]\nname = \"y\"\nmatch = [\"acme.com\"]\npool = \"p\"\nlisteners = [\"b\"]\n");
        Assert.That(result.Errors, Is.Empty, () => string.Join("\n", result.Errors));
    }

    [TestCase("10.0.0.1")]
    [TestCase("10.0.0.1:0")]
    [TestCase("db_internal:5432")]
    [TestCase("0.0.0.0:80")]
    [TestCase("*:80")]
    public void LoadText_BadBackendAddress_IsRefused(string address)
    {
        SingleError(
            $"[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\n[[pools]]\nname = \"p\"\nbalancer = \"round-robin\"\nbackends = [{{ address = \"{address}\" }}]\n",
            "pools[0].backends[0].address", 7, 25, "IP address, localhost or a DNS name");
    }

    [Test]
    public void LoadText_DuplicateBackendAddress_IsRefusedEvenWhenSpelledDifferently()
    {
        SingleError(
            "[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\n[[pools]]\nname = \"p\"\nbalancer = \"round-robin\"\nbackends = [\n  { address = \"127.0.0.1:9001\" },\n  { address = \"localhost:9001\" },\n]\n",
            "pools[0].backends[1].address", 9, 15, "duplicate backend");
    }

    [TestCase(0)]
    [TestCase(1001)]
    [TestCase(-1)]
    public void LoadText_WeightOutOfRange_IsRefused(int weight)
    {
        var error = SingleError(
            $"[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\n[[pools]]\nname = \"p\"\nbalancer = \"round-robin\"\nbackends = [\n  {{ address = \"127.0.0.1:1\" }},\n  {{ address = \"127.0.0.1:2\", weight = {weight} }},\n]\n",
            "pools[0].backends[1].weight", 9, 39, "must be 1..1000");
        Assert.That(error.ToString(), Does.StartWith("lb.toml:9:39: pools[0].backends[1].weight: must be 1..1000"));
    }

    [Test]
    public void LoadText_EmptyBackends_IsRefused()
    {
        SingleError("[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\n[[pools]]\nname = \"p\"\nbalancer = \"round-robin\"\nbackends = []\n", "pools[0].backends", 7, 12, "at least one backend");
    }

    [Test]
    public void LoadText_UnknownBalancer_ListsKnownNames()
    {
        var error = SingleError(
            "[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\n" + Pool.Replace("round-robin", "random", StringComparison.Ordinal),
            "pools[0].balancer", 6, 12, "unknown balancer \"random\"");
        Assert.That(error.Message, Does.Contain("least-connections, round-robin, weighted-hash"));
    }

    [Test]
    public void LoadText_HashOnWithRoundRobin_IsRefused()
    {
        SingleError(
            "[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\n" + Pool + "\nhash_on = \"client-ip\"\n",
            "pools[0].hash_on", 8, 11, "only applies to hashing balancers (weighted-hash)");
    }

    [TestCase("ip")]
    [TestCase("header:")]
    [TestCase("cookie:a b")]
    public void LoadText_BadHashOn_IsRefused(string hashOn)
    {
        SingleError(
            "[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\n" + Pool.Replace("round-robin", "weighted-hash", StringComparison.Ordinal) + $"\nhash_on = \"{hashOn}\"\n",
            "pools[0].hash_on", 8, 11, "must be \"client-ip\"");
    }

    [TestCase("header:X-User")]
    [TestCase("cookie:session")]
    [TestCase("path")]
    public void LoadText_RequestHashOnBehindTcpListener_IsRefused(string hashOn)
    {
        SingleError(
            "[[listeners]]\nname = \"db\"\nlisten = \"*:5432\"\nprotocol = \"tcp\"\ndefault_tenant = \"t\"\n"
            + "[[tenants]]\nname = \"t\"\nmatch = [\"db\"]\npool = \"p\"\nlisteners = []\n"
            + Pool.Replace("round-robin", "weighted-hash", StringComparison.Ordinal) + $"\nhash_on = \"{hashOn}\"\n",
            "pools[0].hash_on", 15, 11, "serves tcp listener \"db\"");
    }

    [Test]
    public void LoadText_ClientIpHashBehindTcpListener_IsAccepted()
    {
        var result = Load(
            "[[listeners]]\nname = \"db\"\nlisten = \"*:5432\"\nprotocol = \"tcp\"\ndefault_tenant = \"t\"\n"
            + "[[tenants]]\nname = \"t\"\nmatch = [\"db\"]\npool = \"p\"\n"
            + Pool.Replace("round-robin", "weighted-hash", StringComparison.Ordinal) + "\nhash_on = \"client-ip\"\n");
        Assert.That(result.Errors, Is.Empty, () => string.Join("\n", result.Errors));
    }

    [TestCase("10")]
    [TestCase("0s")]
    [TestCase("1.5s")]
    [TestCase("-1s")]
    [TestCase("10d")]
    [TestCase("25h")]
    [TestCase("9999999999ms")]
    public void LoadText_BadDuration_IsRefused(string duration)
    {
        SingleError(
            $"[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\ntimeouts = {{ keep_alive = \"{duration}\" }}\n",
            "listeners[0].timeouts.keep_alive", 4, 27, "positive whole number with a unit");
    }

    [Test]
    public void LoadText_BadPoolDuration_IsRefused()
    {
        SingleError(
            "[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\n" + Pool + "\ntimeouts = { connect = \"3 s\" }\n",
            "pools[0].timeouts.connect", 8, 24, "positive whole number");
    }

    [TestCase("max_head_bytes", 1023, 29)]
    [TestCase("max_head_bytes", 1048577, 29)]
    [TestCase("max_headers", 0, 26)]
    [TestCase("max_headers", 1001, 26)]
    public void LoadText_LimitOutOfRange_IsRefused(string key, int value, int column)
    {
        SingleError(
            $"[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\nlimits = {{ {key} = {value} }}\n",
            $"listeners[0].limits.{key}", 4, column, "must be ");
    }

    [Test]
    public void LoadText_EmptyName_IsRefused()
    {
        SingleError("[[listeners]]\nname = \"\"\nlisten = \"*:80\"\n", "listeners[0].name", 2, 8, "must not be empty");
    }

    [Test]
    public void LoadText_ManyErrors_ReportsEveryOne()
    {
        const string toml = """
            [[listeners]]
            name = "web"
            listen = "127.0.0.1:80"
            protocol = "udp"
            colour = "blue"

            [[tenants]]
            name = "t"
            match = ["a.com"]
            pool = "missing"

            [[pools]]
            name = "p"
            balancer = "random"
            backends = [{ address = "nowhere", weight = 0 }]
            """;

        var result = Load(toml);
        // The list of allowed keys grows with features; its presence is checked elsewhere, so cut it off here.
        var lines = result.Errors.Select(e => System.Text.RegularExpressions.Regex.Replace(e.ToString(), @" \(expected one of: [^)]*\)", "")).ToList();
        Assert.That(lines, Is.EquivalentTo(new[]
        {
            "lb.toml:5:1: listeners[0].colour: unknown key",
            "lb.toml:4:12: listeners[0].protocol: must be \"http\" or \"tcp\", not \"udp\"",
            "lb.toml:10:8: tenants[0].pool: no pool named \"missing\"",
            "lb.toml:14:12: pools[0].balancer: unknown balancer \"random\" (known: least-connections, round-robin, weighted-hash)",
            "lb.toml:15:25: pools[0].backends[0].address: \"nowhere\" " + "must be host:port with an IP address, localhost or a DNS name, e.g. \"127.0.0.1:9001\", \"[::1]:9001\" or \"api.internal:8443\"",
            "lb.toml:15:45: pools[0].backends[0].weight: must be 1..1000, not 0",
        }));
    }
}
