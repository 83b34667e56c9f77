using LoadBalancer.Core.Config;
using LoadBalancer.Core.Tenancy;
using static LoadBalancer.Tests.Unit.Config.ConfigTestHelpers;

namespace LoadBalancer.Tests.Unit.Config;

/// <summary>Tenant limits, access keys, per-backend caps, access log and admin token: one refused snippet per rule.</summary>
[TestFixture]
public sealed class TenancyConfigTests
{
    private const string Sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    // The extra pool line is line 7, the extra tenant line is line 12.
    private static string Toml(string tenantExtra = "", string poolExtra = "", string root = "") =>
        $"[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\n[[pools]]\nname = \"p\"\nbackends = [{{ address = \"127.0.0.1:9001\" }}]\n{poolExtra}\n[[tenants]]\nname = \"t\"\nmatch = [\"t.example.com\"]\npool = \"p\"\n{tenantExtra}\n{root}";

    [Test]
    public void LoadText_AllTenancyKeys_CompileIntoSnapshot()
    {
        var result = Load(Toml(
            $"rate_limit = {{ requests_per_second = 50, burst = 80 }}\nmax_connections = 10\nmax_in_flight = 5\nmax_body_bytes = 1024\naccess_keys = [{{ id = \"ci\", sha256 = \"{Sha}\" }}]\naccess_key_header = \"X-Api-Key\"",
            "max_connections_per_backend = 7\ntimeouts = { queue = \"250ms\" }",
            "[admin]\nlisten = \"127.0.0.1:9900\"\ntoken = \"0123456789abcdef\"\n[access_log]\npath = \"stdout\"\nbuffer_lines = 100\n"));

        Assert.That(result.Success, Is.True, () => string.Join("\n", result.Errors));
        var snapshot = result.Snapshot!;
        var tenant = snapshot.Tenants["t"];
        Assert.That(tenant.RateLimiter!.RequestsPerSecond, Is.EqualTo(50));
        Assert.That(tenant.RateLimiter.Burst, Is.EqualTo(80));
        Assert.That((tenant.MaxConnections, tenant.MaxInFlight, tenant.MaxBodyBytes), Is.EqualTo((10, 5, 1024L)));
        Assert.That(tenant.AccessKeys.Single().Id, Is.EqualTo("ci"));
        Assert.That(Convert.ToHexStringLower(tenant.AccessKeys[0].Sha256), Is.EqualTo(Sha));
        Assert.That((tenant.AccessKeyHeader, tenant.AccessKeyIsBearer), Is.EqualTo(("X-Api-Key", false)));
        Assert.That(snapshot.Pools["p"].MaxConnectionsPerBackend, Is.EqualTo(7));
        Assert.That(snapshot.Pools["p"].Timeouts.Queue, Is.EqualTo(TimeSpan.FromMilliseconds(250)));
        Assert.That(snapshot.AdminToken, Is.EqualTo("0123456789abcdef"));
        Assert.That(snapshot.AccessLog!.Target, Is.EqualTo("stdout"));
        Assert.That(snapshot.AccessLog.Capacity, Is.EqualTo(100));
        Assert.That(snapshot.Listeners[0].AccessLog, Is.SameAs(snapshot.AccessLog));
    }

    [Test]
    public void LoadText_Defaults_NoLimitsNoKeysBurstEqualsRate()
    {
        var result = Load(Toml("rate_limit = { requests_per_second = 20 }"));

        var tenant = result.Snapshot!.Tenants["t"];
        Assert.That(tenant.RateLimiter!.Burst, Is.EqualTo(20));
        Assert.That((tenant.MaxConnections, tenant.MaxInFlight, tenant.MaxBodyBytes), Is.EqualTo((0, 0, -1L)));
        Assert.That(tenant.AccessKeys, Is.Empty);
        Assert.That(result.Snapshot.AccessLog, Is.Null);
        Assert.That(result.Snapshot.AdminToken, Is.Null);
    }

    [Test]
    public void LoadText_WithPrevious_ReusesTenantStateByName_ReplacesLimiterOnlyWhenChanged()
    {
        var first = Load(Toml("rate_limit = { requests_per_second = 20 }")).Snapshot!;
        var same = ConfigLoader.LoadText(Toml("rate_limit = { requests_per_second = 20 }\nmax_in_flight = 3"), FileName, first).Snapshot!;
        var changed = ConfigLoader.LoadText(Toml("rate_limit = { requests_per_second = 30 }"), FileName, same).Snapshot!;
        var removed = ConfigLoader.LoadText(Toml(), FileName, changed).Snapshot!;

        Assert.That(same.Tenants["t"].State, Is.SameAs(first.Tenants["t"].State));
        Assert.That(same.Tenants["t"].RateLimiter, Is.SameAs(first.Tenants["t"].RateLimiter));
        Assert.That(changed.Tenants["t"].State, Is.SameAs(first.Tenants["t"].State));
        Assert.That(changed.Tenants["t"].RateLimiter!.RequestsPerSecond, Is.EqualTo(30));
        Assert.That(first.Tenants["t"].RateLimiter!.RequestsPerSecond, Is.EqualTo(20), "the previous snapshot is not modified");
        Assert.That(removed.Tenants["t"].RateLimiter, Is.Null);
    }

    [Test]
    public void LoadText_RateLimitWithoutRate_IsRefused()
        => SingleError(Toml("rate_limit = { burst = 5 }"), "tenants[0].rate_limit.requests_per_second", 12, 14, "is required");

    [Test]
    public void LoadText_RateLimitZero_IsRefused()
        => SingleError(Toml("rate_limit = { requests_per_second = 0 }"), "tenants[0].rate_limit.requests_per_second", 12, 38, "must be 1..1000000");

    [Test]
    public void LoadText_RateLimitUnknownKey_IsRefused()
        => SingleError(Toml("rate_limit = { requests_per_second = 1, brust = 2 }"), "tenants[0].rate_limit.brust", 12, 41, "unknown key");

    [Test]
    public void LoadText_BurstNegative_IsRefused()
        => SingleError(Toml("rate_limit = { requests_per_second = 1, burst = -2 }"), "tenants[0].rate_limit.burst", 12, 49, "must be 1..1000000");

    [Test]
    public void LoadText_MaxConnectionsZero_IsRefused()
        => SingleError(Toml("max_connections = 0"), "tenants[0].max_connections", 12, 19, "must be 1..1000000");

    [Test]
    public void LoadText_MaxInFlightAsString_IsRefused()
        => SingleError(Toml("max_in_flight = \"5\""), "tenants[0].max_in_flight", 12, 17, "must be an integer");

    [Test]
    public void LoadText_MaxBodyBytesNegative_IsRefused()
        => SingleError(Toml("max_body_bytes = -1"), "tenants[0].max_body_bytes", 12, 18, "must be 0..");

    [Test]
    public void LoadText_AccessKeyBadHash_IsRefused()
        => SingleError(Toml("access_keys = [{ id = \"ci\", sha256 = \"abc\" }]"), "tenants[0].access_keys[0].sha256", 12, 38, "64 hex");

    [Test]
    public void LoadText_AccessKeyWithoutId_IsRefused()
        => SingleError(Toml($"access_keys = [{{ sha256 = \"{Sha}\" }}]"), "tenants[0].access_keys[0].id", 12, 16, "is required");

    [Test]
    public void LoadText_AccessKeyDuplicateId_IsRefused()
        => SingleError(
            Toml($"access_keys = [{{ id = \"ci\", sha256 = \"{Sha}\" }}, {{ id = \"ci\", sha256 = \"{Sha}\" }}]"),
            "tenants[0].access_keys[1].id", 12, 115, "duplicate key id \"ci\"");

    [Test]
    public void LoadText_AccessKeyUnknownField_IsRefused()
        => SingleError(Toml($"access_keys = [{{ id = \"ci\", sha256 = \"{Sha}\", key = \"x\" }}]"), "tenants[0].access_keys[0].key", 12, 106, "unknown key");

    [Test]
    public void LoadText_AccessKeysNotArray_IsRefused()
        => SingleError(Toml("access_keys = \"x\""), "tenants[0].access_keys", 12, 15, "must be an array of tables");

    [Test]
    public void LoadText_AccessKeysFileMissing_IsRefusedAtTheValue()
        => SingleError(Toml("access_keys_file = \"does-not-exist.keys\""), "tenants[0].access_keys_file", 12, 20, "cannot read \"does-not-exist.keys\"");

    [Test]
    public void LoadText_AccessKeysFileBadLine_NamesFileLine()
    {
        var directory = Directory.CreateTempSubdirectory("lb-keys-");
        try
        {
            File.WriteAllText(Path.Combine(directory.FullName, "t.keys"), $"# comment\nci {Sha}\nbroken-line\n");
            var result = ConfigLoader.LoadText(Toml("access_keys_file = \"t.keys\""), Path.Combine(directory.FullName, FileName));

            Assert.That(result.Errors, Has.Count.EqualTo(1));
            Assert.That(result.Errors[0].Path, Is.EqualTo("tenants[0].access_keys_file"));
            Assert.That(result.Errors[0].Message, Does.Contain("t.keys:3: expected \"<id> <64 hex sha256>\""));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Test]
    public void LoadText_AccessKeysFile_LoadsKeysRelativeToConfig()
    {
        var directory = Directory.CreateTempSubdirectory("lb-keys-");
        try
        {
            File.WriteAllText(Path.Combine(directory.FullName, "t.keys"), $"ci {Sha}\n\nops {Sha.ToUpperInvariant()}\n");
            var result = ConfigLoader.LoadText(Toml("access_keys_file = \"t.keys\""), Path.Combine(directory.FullName, FileName));

            Assert.That(result.Success, Is.True, () => string.Join("\n", result.Errors));
            Assert.That(result.Snapshot!.Tenants["t"].AccessKeys.Select(k => k.Id), Is.EqualTo(new[] { "ci", "ops" }));
            Assert.That(result.Snapshot.Tenants["t"].AccessKeyIsBearer, Is.True);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Test]
    public void LoadText_AccessKeysFileLifecycleFields_CompilePendingAndExpiry_AndLeaveRevokedOut()
    {
        var directory = Directory.CreateTempSubdirectory("lb-keys-");
        try
        {
            File.WriteAllText(Path.Combine(directory.FullName, "t.keys"),
                $"ci {Sha}\nnew {Sha} state=pending created=2026-12-01T10:00:00Z\nold {Sha} state=revoked approved_by=ops\ntmp {Sha} expires=2027-01-31T00:00:00.5Z\n");
            var result = ConfigLoader.LoadText(Toml("access_keys_file = \"t.keys\"\nkey_approval = \"manual\""), Path.Combine(directory.FullName, FileName));

            Assert.That(result.Success, Is.True, () => string.Join("\n", result.Errors));
            var keys = result.Snapshot!.Tenants["t"].AccessKeys;
            Assert.That(keys.Select(k => (k.Id, k.Pending, k.ExpiresUtcTicks)), Is.EqualTo(new[]
            {
                ("ci", false, 0L),
                ("new", true, 0L),
                ("tmp", false, new DateTimeOffset(2027, 1, 31, 0, 0, 0, 500, TimeSpan.Zero).UtcTicks),
            }));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [TestCase("state=lost", "state \"lost\" must be approved, pending or revoked")]
    [TestCase("expires=2027-01-31", "expires \"2027-01-31\" must be an RFC 3339 time")]
    [TestCase("expires=2027-01-31T00:00:00", "expires \"2027-01-31T00:00:00\" must be an RFC 3339 time")]
    [TestCase("colour=blue", "unknown field \"colour=blue\"")]
    public void LoadText_AccessKeysFileBadLifecycleField_NamesFileLine(string field, string says)
    {
        var directory = Directory.CreateTempSubdirectory("lb-keys-");
        try
        {
            File.WriteAllText(Path.Combine(directory.FullName, "t.keys"), $"ci {Sha} {field}\n");
            var result = ConfigLoader.LoadText(Toml("access_keys_file = \"t.keys\""), Path.Combine(directory.FullName, FileName));

            Assert.That(result.Errors, Has.Count.EqualTo(1));
            Assert.That(result.Errors[0].Message, Does.Contain("t.keys:1: " + says));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Test]
    public void LoadText_KeyApprovalUnknown_IsRefused()
        => SingleError(Toml($"access_keys = [{{ id = \"ci\", sha256 = \"{Sha}\" }}]\nkey_approval = \"later\""), "tenants[0].key_approval", 13, 16, "must be \"auto\" or \"manual\"");

    [Test]
    public void KeysFileLine_FormatThenParse_RoundTrips()
    {
        var line = new KeysFileLine("m1", Convert.FromHexString(Sha), LoadBalancer.Core.Tenancy.KeyState.Pending, new DateTimeOffset(2026, 12, 7, 17, 0, 0, TimeSpan.Zero), new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.FromHours(2)), "ops");

        var text = line.Format();
        Assert.That(text, Is.EqualTo($"m1 {Sha} state=pending created=2026-12-07T17:00:00Z expires=2026-12-31T22:00:00Z approved_by=ops"));
        Assert.That(KeysFileLine.TryParse(text, out var back, out var error), Is.True, error);
        Assert.That(back with { Hash = line.Hash }, Is.EqualTo(line with { Expires = line.Expires!.Value.ToUniversalTime() }));
        Assert.That(back.Hash, Is.EqualTo(line.Hash));
    }

    [Test]
    public void LoadText_AccessKeyHeaderNotAToken_IsRefused()
        => SingleError(Toml($"access_keys = [{{ id = \"ci\", sha256 = \"{Sha}\" }}]\naccess_key_header = \"X Api\""), "tenants[0].access_key_header", 13, 21, "not a header name");

    [Test]
    public void LoadText_AccessKeyHeaderWithoutKeys_IsRefused()
        => SingleError(Toml("access_key_header = \"X-Api-Key\""), "tenants[0].access_key_header", 12, 21, "without access_keys");

    [Test]
    public void LoadText_MaxConnectionsPerBackendZero_IsRefused()
        => SingleError(Toml(poolExtra: "max_connections_per_backend = 0"), "pools[0].max_connections_per_backend", 7, 31, "must be 1..1000000");

    [Test]
    public void LoadText_QueueTimeoutBad_IsRefused()
        => SingleError(Toml(poolExtra: "timeouts = { queue = \"soon\" }"), "pools[0].timeouts.queue", 7, 22, "must be a positive whole number");

    [Test]
    public void LoadText_AccessLogWithoutPath_IsRefused()
        => SingleError(Toml(root: "[access_log]\nbuffer_lines = 10\n"), "access_log.path", 13, 2, "is required");

    [Test]
    public void LoadText_AccessLogBufferZero_IsRefused()
        => SingleError(Toml(root: "[access_log]\npath = \"stdout\"\nbuffer_lines = 0\n"), "access_log.buffer_lines", 15, 16, "must be 1..1000000");

    [Test]
    public void LoadText_AccessLogUnknownKey_IsRefused()
        => SingleError(Toml(root: "[access_log]\npath = \"stdout\"\nformat = \"json\"\n"), "access_log.format", 15, 1, "unknown key");

    [Test]
    public void LoadText_AdminTokenTooShort_IsRefused()
        => SingleError(Toml(root: "[admin]\nlisten = \"127.0.0.1:9900\"\ntoken = \"short\"\n"), "admin.token", 15, 9, "at least 16 characters");

    [Test]
    public void LoadText_UnknownTenantKey_ListsTheNewKeys()
    {
        // A near miss gets a suggestion instead of the list (ConfigErrorReportingTests).
        var error = SingleError(Toml("connection_limit = 3"), "tenants[0].connection_limit", 12, 1, "unknown key");
        Assert.That(error.Message, Does.Contain("max_connections").And.Contain("access_key_header"));
    }
}
