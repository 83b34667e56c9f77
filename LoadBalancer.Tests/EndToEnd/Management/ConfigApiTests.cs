using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using LoadBalancer.Tests.TestSupport;
using static LoadBalancer.Tests.EndToEnd.Management.AdminTokensTests;

namespace LoadBalancer.Tests.EndToEnd.Management;

/// <summary>
/// The management API end to end: real lb, real admin listener, real lb.toml on disk. Each write is checked by the
/// bytes of lb.toml before and after (only the edited table changes, comments stay) and by traffic through lb.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class ConfigApiTests
{
    private const string ReadSecret = "read-secret-0123456789";
    private const string WriteSecret = "write-secret-0123456789";

    private static string Config(string backend) => $$"""
        # operator's header comment
        [admin]
        listen = "127.0.0.1:0"
        audit_log = "audit.log"
        {{Tokens(("ci", ReadSecret, "read"), ("ops", WriteSecret, "write"))}}
        [[listeners]]
        name = "web"
        listen = "127.0.0.1:0"

        # acme: the first customer
        [[tenants]]
        name = "acme"
        match = ["acme.example.com"]   # its host
        pool = "p"
        max_in_flight = 100            # generous

        # the only pool
        [[pools]]
        name = "p"
        backends = [ { address = "{{backend}}" } ]   # s1
        """ + "\n";

    private static StringContent Body(string json) => new(json, Encoding.UTF8, "application/json");

    private static string Etag(byte[] bytes) => "\"" + Convert.ToHexStringLower(SHA256.HashData(bytes)) + "\"";

    private static async Task<(int Status, JsonElement Json, string? Etag)> SendAsync(HttpClient client, HttpMethod method, string path, string? json, CancellationToken cancellationToken, string? ifMatch = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = json is null ? null : Body(json) };
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }

        using var response = await client.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return ((int)response.StatusCode, JsonDocument.Parse(text).RootElement.Clone(), response.Headers.ETag?.ToString());
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Get_WholeFileKindAndOne_AsJsonWithTomlKeys_EveryAnswerCarriesTheFileEtag(CancellationToken cancellationToken)
    {
        await using var s1 = ScriptedBackend.Start("s1");
        await using var lb = await LbTestHost.StartAsync(Config(s1.Address));
        using var reader = Client(lb, ReadSecret);
        var etag = Etag(await File.ReadAllBytesAsync(lb.ConfigPath, cancellationToken));

        var whole = await SendAsync(reader, HttpMethod.Get, "api/config", null, cancellationToken);
        var tenants = await SendAsync(reader, HttpMethod.Get, "api/config/tenants", null, cancellationToken);
        var pool = await SendAsync(reader, HttpMethod.Get, "api/config/pools/p", null, cancellationToken);
        var consumers = await SendAsync(reader, HttpMethod.Get, "api/config/consumers", null, cancellationToken);
        var missing = await SendAsync(reader, HttpMethod.Get, "api/config/tenants/nope", null, cancellationToken);
        using var unknown = await reader.GetAsync("api/config/widgets", cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((whole.Status, tenants.Status, pool.Status, consumers.Status, missing.Status, (int)unknown.StatusCode), Is.EqualTo((200, 200, 200, 200, 404, 404)));
            Assert.That(new[] { whole.Etag, tenants.Etag, pool.Etag, missing.Etag }, Is.All.EqualTo(etag));
            Assert.That(whole.Json.GetProperty("admin").GetProperty("audit_log").GetString(), Is.EqualTo("audit.log"));
            Assert.That(whole.Json.GetProperty("listeners")[0].GetProperty("name").GetString(), Is.EqualTo("web"));
            Assert.That(tenants.Json.GetProperty("tenants")[0].GetProperty("max_in_flight").GetInt64(), Is.EqualTo(100));
            Assert.That(tenants.Json.GetProperty("tenants")[0].GetProperty("match")[0].GetString(), Is.EqualTo("acme.example.com"));
            Assert.That(pool.Json.GetProperty("backends")[0].GetProperty("address").GetString(), Is.EqualTo(s1.Address));
            Assert.That(consumers.Json.GetProperty("consumers").GetArrayLength(), Is.Zero);
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task GetWholeFile_HidesTheAdminTokenSecret_FromAReadToken(CancellationToken cancellationToken)
    {
        await using var s1 = ScriptedBackend.Start("s1");
        await using var lb = await LbTestHost.StartAsync(Config(s1.Address).Replace("audit_log = \"audit.log\"\n", "audit_log = \"audit.log\"\ntoken = \"legacy-secret-0123456789\"\n", StringComparison.Ordinal));
        using var reader = Client(lb, ReadSecret);

        using var response = await reader.GetAsync("api/config", cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);

        Assert.That((int)response.StatusCode, Is.EqualTo(200));
        Assert.That(body, Does.Not.Contain("legacy-secret"));
        Assert.That(JsonDocument.Parse(body).RootElement.GetProperty("admin").GetProperty("token").GetString(), Is.EqualTo("<redacted>"));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task PutPatchDelete_EditOnlyTheirTable_ApplyAtOnce_AndAreAudited(CancellationToken cancellationToken)
    {
        await using var s1 = ScriptedBackend.Start("s1");
        await using var s2 = ScriptedBackend.Start("s2");
        await using var lb = await LbTestHost.StartAsync(Config(s1.Address));
        using var writer = Client(lb, WriteSecret);
        var web = lb.EndPoint();
        var original = await File.ReadAllTextAsync(lb.ConfigPath, cancellationToken);

        // PUT a new pool and a new tenant on it: each appended after the last of its kind, nothing else touched.
        var putPool = await SendAsync(writer, HttpMethod.Put, "api/config/pools/q", $$"""{ "backends": [ { "address": "{{s2.Address}}" } ] }""", cancellationToken);
        var afterPool = await File.ReadAllTextAsync(lb.ConfigPath, cancellationToken);
        var putTenant = await SendAsync(writer, HttpMethod.Put, "api/config/tenants/globex", """{ "name": "globex", "match": ["globex.example.com"], "pool": "q" }""", cancellationToken);
        var afterTenant = await File.ReadAllTextAsync(lb.ConfigPath, cancellationToken);
        var routedToNew = await HttpProbe.GetOnceAsync(web, "globex.example.com", "/", cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(putPool.Status, Is.EqualTo(201), putPool.Json.ToString());
            Assert.That(putPool.Json.GetProperty("result").GetString(), Is.EqualTo("applied"));
            Assert.That(afterPool, Is.EqualTo(original + $"\n[[pools]]\nname = \"q\"\nbackends = [\n  {{ address = \"{s2.Address}\" }},\n]\n"));
            Assert.That(putTenant.Status, Is.EqualTo(201), putTenant.Json.ToString());
            Assert.That(putTenant.Etag, Is.EqualTo(Etag(Encoding.UTF8.GetBytes(afterTenant))));
            Assert.That(afterTenant, Is.EqualTo(afterPool.Replace("max_in_flight = 100            # generous\n", "max_in_flight = 100            # generous\n\n[[tenants]]\nname = \"globex\"\nmatch = [\"globex.example.com\"]\npool = \"q\"\n")));
            Assert.That(routedToNew.Backend, Is.EqualTo("s2"));
        }

        // PATCH one key of acme: that value changes, its comment and every other byte stay.
        var patch = await SendAsync(writer, HttpMethod.Patch, "api/config/tenants/acme", """{ "pool": "q", "max_in_flight": 5 }""", cancellationToken);
        var afterPatch = await File.ReadAllTextAsync(lb.ConfigPath, cancellationToken);
        var routedAfterPatch = await HttpProbe.GetOnceAsync(web, "acme.example.com", "/", cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(patch.Status, Is.EqualTo(200), patch.Json.ToString());
            Assert.That(afterPatch, Is.EqualTo(afterTenant.Replace("pool = \"p\"\nmax_in_flight = 100            # generous", "pool = \"q\"\nmax_in_flight = 5            # generous")));
            Assert.That(patch.Json.GetProperty("diff").GetString(), Does.Contain("\n-pool = \"p\"\n").And.Contain("\n+pool = \"q\"\n").And.Contain("\n+max_in_flight = 5            # generous\n").And.Contain("\n name = \"acme\"\n"));
            Assert.That(patch.Json.GetProperty("resource").GetProperty("max_in_flight").GetInt64(), Is.EqualTo(5));
            Assert.That(routedAfterPatch.Backend, Is.EqualTo("s2"));
            Assert.That(lb.Engine.Snapshots.Current.Tenants["acme"].MaxInFlight, Is.EqualTo(5));
        }

        // DELETE the pool nobody uses any more: cut out with the comment right above it.
        var delete = await SendAsync(writer, HttpMethod.Delete, "api/config/pools/p", null, cancellationToken);
        var afterDelete = await File.ReadAllTextAsync(lb.ConfigPath, cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(delete.Status, Is.EqualTo(200), delete.Json.ToString());
            Assert.That(afterDelete, Is.EqualTo(afterPatch.Replace($"# the only pool\n[[pools]]\nname = \"p\"\nbackends = [ {{ address = \"{s1.Address}\" }} ]   # s1\n\n", "")));
            Assert.That(lb.Engine.Snapshots.Current.Pools.ContainsKey("p"), Is.False);
            Assert.That(afterDelete, Does.StartWith("# operator's header comment\n"));
        }

        // One audit line per write, in order, naming the token.
        var audit = (await File.ReadAllLinesAsync(Path.Combine(Path.GetDirectoryName(lb.ConfigPath)!, "audit.log"), cancellationToken)).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.That(audit.Select(a => (a.GetProperty("method").GetString(), a.GetProperty("resource").GetString(), a.GetProperty("result").GetString(), a.GetProperty("token_id").GetString())), Is.EqualTo(new[]
        {
            ("PUT", "/api/config/pools/q", "applied", "ops"),
            ("PUT", "/api/config/tenants/globex", "applied", "ops"),
            ("PATCH", "/api/config/tenants/acme", "applied", "ops"),
            ("DELETE", "/api/config/pools/p", "applied", "ops"),
        }));
        Assert.That(audit[2].GetProperty("diff").GetString(), Does.Contain("+pool = \"q\""));
        Assert.That(DateTimeOffset.Parse(audit[0].GetProperty("time").GetString()!, System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(DateTimeOffset.UtcNow).Within(TimeSpan.FromMinutes(1)));
    }

    // Fuzz finding (issue 19, toml-value target): invalid UTF-8 in a key or value parsed, and threw when the edit read it.
    [TestCase(new byte[] { 0xcb, 0xcb }, true)]
    [TestCase(new byte[] { 0xed, 0xa0, 0x80 }, false)]
    [TestCase(new byte[] { 0x5c, 0x75, 0x64, 0x38, 0x33, 0x64 }, true)] // the escape \ud83d alone in a key (second finding)
    [CancelAfter(30_000)]
    public async Task Patch_BodyNotUtf8_Is400_ChangesNothing(byte[] bad, bool inKey, CancellationToken cancellationToken)
    {
        await using var s1 = ScriptedBackend.Start("s1");
        await using var lb = await LbTestHost.StartAsync(Config(s1.Address));
        using var writer = Client(lb, WriteSecret);
        var original = await File.ReadAllBytesAsync(lb.ConfigPath, cancellationToken);
        var body = inKey ? [.. "{ \"max_in"u8, .. bad, .. "\": 1 }"u8] : (byte[])[.. "{ \"match\": [\"a"u8, .. bad, .. "\"] }"u8];

        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await writer.PatchAsync("api/config/tenants/acme", content, cancellationToken);

        Assert.That((int)response.StatusCode, Is.EqualTo(400), await response.Content.ReadAsStringAsync(cancellationToken));
        Assert.That(await File.ReadAllBytesAsync(lb.ConfigPath, cancellationToken), Is.EqualTo(original));
    }

    // Fuzz finding (issue 19, toml-value target, CI smoke): a body naming one member twice parsed, then threw
    // ArgumentException when the edit enumerated the object. Which of the two a merge patch means is not knowable: 400.
    [TestCase("""{ "max_in_flight": 1, "max_in_flight": 2 }""")]
    [TestCase("""{ "limits": { "W": "r", "W": "r" } }""")]
    [CancelAfter(30_000)]
    public async Task Patch_BodyWithADuplicateMember_Is400_ChangesNothing(string body, CancellationToken cancellationToken)
    {
        await using var s1 = ScriptedBackend.Start("s1");
        await using var lb = await LbTestHost.StartAsync(Config(s1.Address));
        using var writer = Client(lb, WriteSecret);
        var original = await File.ReadAllBytesAsync(lb.ConfigPath, cancellationToken);

        var answer = await SendAsync(writer, HttpMethod.Patch, "api/config/tenants/acme", body, cancellationToken);

        Assert.That(answer.Status, Is.EqualTo(400), answer.Json.ToString());
        Assert.That(await File.ReadAllBytesAsync(lb.ConfigPath, cancellationToken), Is.EqualTo(original));
    }

    // Fuzz findings (issue 19, toml-value target): values with no TOML form were written anyway (1e400 as "Infinity",
    // an integer past 64 bits as itself, both refused later by the load as lb.toml syntax), and a lone surrogate escape
    // threw from the writer. Each is a 422 naming the body's path, like null.
    [TestCase("""{ "max_in_flight": 1e400 }""", "max_in_flight")]
    [TestCase("""{ "max_in_flight": 99999999999999999999 }""", "max_in_flight")]
    [TestCase("""{ "match": ["acme.example.com", "\ud800"] }""", "match[1]")]
    [CancelAfter(30_000)]
    public async Task Patch_ValueWithNoTomlForm_Is422NamingItsPath_ChangesNothing(string body, string path, CancellationToken cancellationToken)
    {
        await using var s1 = ScriptedBackend.Start("s1");
        await using var lb = await LbTestHost.StartAsync(Config(s1.Address));
        using var writer = Client(lb, WriteSecret);
        var original = await File.ReadAllBytesAsync(lb.ConfigPath, cancellationToken);

        var answer = await SendAsync(writer, HttpMethod.Patch, "api/config/tenants/acme", body, cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(answer.Status, Is.EqualTo(422), answer.Json.ToString());
            var error = answer.Json.GetProperty("errors")[0];
            Assert.That(error.GetProperty("path").GetString(), Is.EqualTo(path), answer.Json.ToString());
            Assert.That(error.GetProperty("message").GetString(), Does.Contain("no TOML form"));
            Assert.That(await File.ReadAllBytesAsync(lb.ConfigPath, cancellationToken), Is.EqualTo(original));
        }
    }

    // Doubt from the fuzzing (issue 19): a float that underflows as a double (1e-400 reads as 0) or carries more digits
    // than a double holds was written as its double (0.0, 0.2) and then failed the editor's read-back check: a 500.
    // TOML's floats are doubles, so such a number has no TOML form for what was asked: a 422 naming it, like 1e400.
    // A float a double holds exactly as written (2.5e-1) is written, as TOML's shortest form of it.
    [TestCase("""{ "retries": { "budget": 1e-400 } }""", "retries.budget", null)]
    [TestCase("""{ "retries": { "budget": 0.2000000000000000000001 } }""", "retries.budget", null)]
    [TestCase("""{ "retries": { "budget": 2.5e-1 } }""", null, "retries = { budget = 0.25 }")]
    [CancelAfter(30_000)]
    public async Task Patch_FloatADoubleCannotHold_Is422NamingIt_OneItHolds_IsWritten(string body, string? refusedPath, string? written, CancellationToken cancellationToken)
    {
        await using var s1 = ScriptedBackend.Start("s1");
        await using var lb = await LbTestHost.StartAsync(Config(s1.Address));
        using var writer = Client(lb, WriteSecret);
        var original = await File.ReadAllBytesAsync(lb.ConfigPath, cancellationToken);

        var answer = await SendAsync(writer, HttpMethod.Patch, "api/config/pools/p", body, cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            if (refusedPath is not null)
            {
                Assert.That(answer.Status, Is.EqualTo(422), answer.Json.ToString());
                var error = answer.Json.GetProperty("errors")[0];
                Assert.That(error.GetProperty("path").GetString(), Is.EqualTo(refusedPath), answer.Json.ToString());
                Assert.That(error.GetProperty("message").GetString(), Does.Contain("no TOML form"));
                Assert.That(await File.ReadAllBytesAsync(lb.ConfigPath, cancellationToken), Is.EqualTo(original));
            }
            else
            {
                Assert.That(answer.Status, Is.EqualTo(200), answer.Json.ToString());
                Assert.That(await File.ReadAllTextAsync(lb.ConfigPath, cancellationToken), Does.Contain(written));
                Assert.That(lb.Engine.Snapshots.Current.Pools["p"].Retries.Budget, Is.EqualTo(0.25));
            }
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Refusals_PoolInUse_InvalidValueWithPosition_StaleIfMatch_ReadToken_ChangeNothing(CancellationToken cancellationToken)
    {
        await using var s1 = ScriptedBackend.Start("s1");
        await using var lb = await LbTestHost.StartAsync(Config(s1.Address));
        using var writer = Client(lb, WriteSecret);
        using var reader = Client(lb, ReadSecret);
        var original = await File.ReadAllBytesAsync(lb.ConfigPath, cancellationToken);
        var snapshot = lb.Engine.Snapshots.Current;

        var inUse = await SendAsync(writer, HttpMethod.Delete, "api/config/pools/p", null, cancellationToken);
        var invalid = await SendAsync(writer, HttpMethod.Patch, "api/config/pools/p", """{ "backends": [ { "address": "not-an-address" } ], "balancer": "random" }""", cancellationToken);
        var readPut = await SendAsync(reader, HttpMethod.Patch, "api/config/tenants/acme", """{ "max_in_flight": 1 }""", cancellationToken);
        var renamed = await SendAsync(writer, HttpMethod.Put, "api/config/tenants/acme", """{ "name": "other", "match": ["x"] }""", cancellationToken);
        var missing = await SendAsync(writer, HttpMethod.Patch, "api/config/tenants/nope", """{ "pool": "p" }""", cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(inUse.Status, Is.EqualTo(422));
            Assert.That(inUse.Json.GetProperty("errors")[0].GetProperty("message").GetString(), Does.Contain("tenant \"acme\""));
            Assert.That(invalid.Status, Is.EqualTo(422), invalid.Json.ToString());
            var errors = invalid.Json.GetProperty("errors").EnumerateArray().ToList();
            var address = errors.Single(e => e.GetProperty("path").GetString() == "pools[0].backends[0].address");
            Assert.That((address.GetProperty("line").GetInt32(), address.GetProperty("column").GetInt32()), Is.EqualTo((Encoding.UTF8.GetString(original).Split('\n').ToList().FindIndex(l => l.StartsWith("backends = [", StringComparison.Ordinal)) + 1, 25)), invalid.Json.ToString());
            Assert.That(errors.Any(e => e.GetProperty("path").GetString() == "pools[0].balancer"), Is.True, "every error, not only the first");
            Assert.That(readPut.Status, Is.EqualTo(403));
            Assert.That(renamed.Status, Is.EqualTo(422));
            Assert.That(renamed.Json.GetProperty("errors")[0].GetProperty("path").GetString(), Is.EqualTo("name"));
            Assert.That(missing.Status, Is.EqualTo(404));
            Assert.That(await File.ReadAllBytesAsync(lb.ConfigPath, cancellationToken), Is.EqualTo(original));
            Assert.That(lb.Engine.Snapshots.Current, Is.SameAs(snapshot));
        }

        // If-Match: the current ETag writes; the one before it (changed by the API) and one changed by hand get 409.
        var etag = Etag(original);
        var first = await SendAsync(writer, HttpMethod.Patch, "api/config/tenants/acme", """{ "max_in_flight": 7 }""", cancellationToken, ifMatch: etag);
        var stale = await SendAsync(writer, HttpMethod.Patch, "api/config/tenants/acme", """{ "max_in_flight": 8 }""", cancellationToken, ifMatch: etag);
        await File.AppendAllTextAsync(lb.ConfigPath, "# edited by hand\n", cancellationToken);
        var byHand = await SendAsync(writer, HttpMethod.Patch, "api/config/tenants/acme", """{ "max_in_flight": 9 }""", cancellationToken, ifMatch: first.Etag);
        var current = Etag(await File.ReadAllBytesAsync(lb.ConfigPath, cancellationToken));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(first.Status, Is.EqualTo(200), first.Json.ToString());
            Assert.That(stale.Status, Is.EqualTo(409));
            Assert.That(stale.Etag, Is.EqualTo(first.Etag));
            Assert.That(byHand.Status, Is.EqualTo(409));
            Assert.That(byHand.Json.GetProperty("etag").GetString(), Is.EqualTo(current));
            Assert.That(lb.Engine.Snapshots.Current.Tenants["acme"].MaxInFlight, Is.EqualTo(7));
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task DryRun_AnswersTheDiffAndEveryError_ChangesNothing(CancellationToken cancellationToken)
    {
        await using var s1 = ScriptedBackend.Start("s1");
        await using var lb = await LbTestHost.StartAsync(Config(s1.Address));
        using var writer = Client(lb, WriteSecret);
        var original = await File.ReadAllBytesAsync(lb.ConfigPath, cancellationToken);
        var snapshot = lb.Engine.Snapshots.Current;

        var valid = await SendAsync(writer, HttpMethod.Patch, "api/config/tenants/acme?dry_run=true", """{ "max_in_flight": 3 }""", cancellationToken);
        var invalid = await SendAsync(writer, HttpMethod.Put, "api/config/tenants/acme?dry_run=true", """{ "match": ["acme.example.com"], "pool": "missing", "max_in_flight": 0 }""", cancellationToken);
        var delete = await SendAsync(writer, HttpMethod.Delete, "api/config/tenants/acme?dry_run=true", null, cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(valid.Status, Is.EqualTo(200), valid.Json.ToString());
            Assert.That(valid.Json.GetProperty("dry_run").GetBoolean(), Is.True);
            Assert.That(valid.Json.GetProperty("diff").GetString(), Does.Contain("+max_in_flight = 3            # generous"));
            Assert.That(valid.Json.GetProperty("errors").GetArrayLength(), Is.Zero);
            Assert.That(invalid.Status, Is.EqualTo(422));
            Assert.That(invalid.Json.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("path").GetString()), Is.SupersetOf(new[] { "tenants[0].pool", "tenants[0].max_in_flight" }));
            Assert.That(invalid.Json.GetProperty("diff").GetString(), Does.Contain("+pool = \"missing\""));
            Assert.That(delete.Status, Is.EqualTo(200));
            Assert.That(delete.Json.GetProperty("diff").GetString(), Does.Contain("-name = \"acme\""));
            Assert.That(await File.ReadAllBytesAsync(lb.ConfigPath, cancellationToken), Is.EqualTo(original));
            Assert.That(lb.Engine.Snapshots.Current, Is.SameAs(snapshot));
            Assert.That(File.Exists(Path.Combine(Path.GetDirectoryName(lb.ConfigPath)!, "audit.log")), Is.False, "a dry run is not a write");
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Consumers_PutGetPatchDelete_AndTenantReplaceAndDelete_EachOnlyTheirTable(CancellationToken cancellationToken)
    {
        await using var s1 = ScriptedBackend.Start("s1");
        await using var lb = await LbTestHost.StartAsync(Config(s1.Address));
        using var writer = Client(lb, WriteSecret);
        var web = lb.EndPoint();
        var original = await File.ReadAllTextAsync(lb.ConfigPath, cancellationToken);
        var key = "consumer-key-0123456789";

        // A consumer: created at the end (the first of its kind), then it is what lb asks keys of.
        var put = await SendAsync(writer, HttpMethod.Put, "api/config/consumers/mobile", $$"""{ "tenant": "acme", "keys": [ { "id": "m1", "sha256": "{{Sha(key)}}" } ] }""", cancellationToken);
        var afterPut = await File.ReadAllTextAsync(lb.ConfigPath, cancellationToken);
        var get = await SendAsync(writer, HttpMethod.Get, "api/config/consumers/mobile", null, cancellationToken);
        var withoutKey = await HttpProbe.GetOnceAsync(web, "acme.example.com", "/", cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(put.Status, Is.EqualTo(201), put.Json.ToString());
            Assert.That(afterPut, Is.EqualTo(original + $"\n[[consumers]]\nname = \"mobile\"\ntenant = \"acme\"\nkeys = [\n  {{ id = \"m1\", sha256 = \"{Sha(key)}\" }},\n]\n"));
            Assert.That(get.Status, Is.EqualTo(200));
            Assert.That(get.Json.GetProperty("keys")[0].GetProperty("id").GetString(), Is.EqualTo("m1"));
            Assert.That(get.Etag, Is.EqualTo(put.Etag));
            Assert.That(withoutKey.Status, Is.EqualTo(401), "a tenant with consumers requires a key");
        }

        // PATCH adds a quota line after its last key; deleting the tenant it calls is refused by validation.
        var patch = await SendAsync(writer, HttpMethod.Patch, "api/config/consumers/mobile", """{ "quota": { "requests": 1000, "period": "day" } }""", cancellationToken);
        var afterPatch = await File.ReadAllTextAsync(lb.ConfigPath, cancellationToken);
        var deleteTenant = await SendAsync(writer, HttpMethod.Delete, "api/config/tenants/acme", null, cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(patch.Status, Is.EqualTo(200), patch.Json.ToString());
            Assert.That(afterPatch, Is.EqualTo(afterPut + "quota = { requests = 1000, period = \"day\" }\n"));
            Assert.That(lb.Engine.Snapshots.Current.Tenants["acme"].Consumers.Single().Quota, Is.Not.Null);
            Assert.That(deleteTenant.Status, Is.EqualTo(422));
            Assert.That(deleteTenant.Json.GetProperty("errors")[0].GetProperty("path").GetString(), Does.StartWith("consumers[0].tenant"));
            Assert.That(await File.ReadAllTextAsync(lb.ConfigPath, cancellationToken), Is.EqualTo(afterPatch));
        }

        // DELETE the consumer: back to the original bytes. PUT replaces acme whole: gone keys lose their lines, the
        // rest keep theirs (comments included); then acme itself can go.
        var delete = await SendAsync(writer, HttpMethod.Delete, "api/config/consumers/mobile", null, cancellationToken);
        var afterDelete = await File.ReadAllTextAsync(lb.ConfigPath, cancellationToken);
        var replace = await SendAsync(writer, HttpMethod.Put, "api/config/tenants/acme", """{ "match": ["acme.example.com", "www.acme.example.com"], "pool": "p" }""", cancellationToken);
        var afterReplace = await File.ReadAllTextAsync(lb.ConfigPath, cancellationToken);
        var routed = await HttpProbe.GetOnceAsync(web, "www.acme.example.com", "/", cancellationToken);
        var deleted = await SendAsync(writer, HttpMethod.Delete, "api/config/tenants/acme", null, cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(delete.Status, Is.EqualTo(200), delete.Json.ToString());
            Assert.That(afterDelete, Is.EqualTo(original));
            Assert.That(replace.Status, Is.EqualTo(200), replace.Json.ToString());
            Assert.That(afterReplace, Is.EqualTo(original.Replace("match = [\"acme.example.com\"]   # its host\npool = \"p\"\nmax_in_flight = 100            # generous\n", "match = [\"acme.example.com\", \"www.acme.example.com\"]   # its host\npool = \"p\"\n")));
            Assert.That(routed.Backend, Is.EqualTo("s1"));
            Assert.That(deleted.Status, Is.EqualTo(200), deleted.Json.ToString());
            Assert.That(lb.Engine.Snapshots.Current.Tenants, Is.Empty);
            Assert.That(await File.ReadAllTextAsync(lb.ConfigPath, cancellationToken), Does.Not.Contain("acme: the first customer").And.Contain("# the only pool"));
        }
    }
}
