using System.Text;
using System.Text.Json;
using LoadBalancer.Tests.TestSupport;
using static LoadBalancer.Tests.EndToEnd.Management.AdminTokensTests;

namespace LoadBalancer.Tests.EndToEnd.Management;

/// <summary>
/// The key lifecycle through the admin API, end to end: keys made by <c>POST /api/config/consumers/{name}/keys</c> are
/// used through lb to a real backend on one keep-alive connection while they are approved, revoked and expire, each
/// change in force for the next request without a restart; the keys file holds hashes only, and every write has its audit line.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class KeyLifecycleTests
{
    private const string WriteSecret = "write-secret-0123456789";
    private const string ReadSecret = "read-secret-0123456789";
    private const string SeedKey = "seed-key-0123456789abcdef";
    private const string KeysFileText = "# mobile app keys (managed by the admin API)\n\nseed {0}\n";

    private static string Config(string backend, string approval) => "[admin]\nlisten = \"127.0.0.1:0\"\naudit_log = \"audit.log\"\n"
        + Tokens(("ops", WriteSecret, "write"), ("ci", ReadSecret, "read")) + "\n"
        + TestConfigs.OneTenant(backend, tenantExtra: approval)
        + "\n\n[[consumers]]\nname = \"mobile\"\ntenant = \"acme\"\nkeys_file = \"mobile.keys\"\n";

    private static Task<LbTestHost> StartAsync(string backend, string approval)
        => LbTestHost.StartAsync(Config(backend, approval), beforeLoad: dir => File.WriteAllText(Path.Combine(dir, "mobile.keys"), string.Format(System.Globalization.CultureInfo.InvariantCulture, KeysFileText, Sha(SeedKey))));

    // The admin listener takes bodies with a Content-Length (JsonContent would send them chunked).
    private static StringContent Body(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    private static string Dir(LbTestHost lb) => Path.GetDirectoryName(lb.ConfigPath)!;

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response, CancellationToken cancellationToken)
        => JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken)).RootElement.Clone();

    /// <summary>A request on the given open connection with <paramref name="key"/>: its status and lb's error code (null when the backend answered).</summary>
    private static async Task<(int Status, string? Error)> UseAsync(RawHttpConnection connection, string key, CancellationToken cancellationToken)
    {
        await connection.SendAsync($"GET /app HTTP/1.1\r\nHost: acme.example.com\r\nAuthorization: Bearer {key}\r\nAccept: application/json\r\n\r\n", cancellationToken);
        var response = await connection.ReadResponseAsync(cancellationToken) ?? throw new AssertionException("lb closed the keep-alive connection");
        var body = Encoding.UTF8.GetString(response.Body);
        return (response.Status, response.Status == 200 ? null : JsonDocument.Parse(body).RootElement.GetProperty("error").GetString());
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task ManualApproval_PendingIsRefused_ApprovalAdmits_RevokeEndsIt_OnOneOpenConnection(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await StartAsync(backend.Address, "key_approval = \"manual\"");
        using var admin = Client(lb, WriteSecret);
        using var reader = Client(lb, ReadSecret);
        var keysFile = Path.Combine(Dir(lb), "mobile.keys");
        var before = await File.ReadAllTextAsync(keysFile, cancellationToken);
        var tomlBefore = await File.ReadAllBytesAsync(lb.ConfigPath, cancellationToken);

        // A read token may list keys but not make one.
        using var readCreate = await reader.PostAsync("api/config/consumers/mobile/keys", Body(new { id = "m1" }), cancellationToken);
        Assert.That((int)readCreate.StatusCode, Is.EqualTo(403));

        using var created = await admin.PostAsync("api/config/consumers/mobile/keys", Body(new { id = "m1" }), cancellationToken);
        var made = await JsonAsync(created, cancellationToken);
        Assert.That((int)created.StatusCode, Is.EqualTo(201), made.ToString());
        var secret = made.GetProperty("key").GetString()!;
        var file = await File.ReadAllTextAsync(keysFile, cancellationToken);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(made.GetProperty("id").GetString(), Is.EqualTo("m1"));
            Assert.That(made.GetProperty("state").GetString(), Is.EqualTo("pending"));
            Assert.That(secret, Does.StartWith("lbk_"));

            // Stored as its hash only, appended: the comment, the blank line and the other key are untouched; lb.toml too.
            Assert.That(file, Does.StartWith(before));
            Assert.That(file[before.Length..], Does.Match($"^m1 {Sha(secret)} state=pending created=\\d{{4}}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\n$"));
            Assert.That(file, Does.Not.Contain(secret));
            Assert.That(await File.ReadAllBytesAsync(lb.ConfigPath, cancellationToken), Is.EqualTo(tomlBefore));
        }

        await using var connection = await RawHttpConnection.ConnectAsync(lb.EndPoint(), cancellationToken);
        Assert.That(await UseAsync(connection, secret, cancellationToken), Is.EqualTo((403, "key_pending")));
        Assert.That(await UseAsync(connection, SeedKey, cancellationToken), Is.EqualTo((200, (string?)null)), "the other key works");

        using var approved = await admin.PostAsync("api/config/consumers/mobile/keys/m1/approve", null, cancellationToken);
        Assert.That((int)approved.StatusCode, Is.EqualTo(200), await approved.Content.ReadAsStringAsync(cancellationToken));
        Assert.That(await UseAsync(connection, secret, cancellationToken), Is.EqualTo((200, (string?)null)), "approved: admitted on the same connection, no restart");
        Assert.That(backend.Requests.Count(r => r.RequestLine.StartsWith("GET /app ", StringComparison.Ordinal)), Is.EqualTo(2));

        // GET: state, created, approved by, last used and requests (usage is counted just after the answer is sent).
        JsonElement key = default;
        await Eventually.UntilAsync(() =>
        {
            using var listed = reader.GetAsync("api/config/consumers/mobile/keys", cancellationToken).GetAwaiter().GetResult();
            var keys = JsonDocument.Parse(listed.Content.ReadAsStringAsync(cancellationToken).GetAwaiter().GetResult()).RootElement.GetProperty("keys");
            key = keys.EnumerateArray().Single(k => k.GetProperty("id").GetString() == "m1").Clone();
            return key.GetProperty("requests").GetInt64() == 1;
        }, cancellationToken);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(key.GetProperty("state").GetString(), Is.EqualTo("approved"));
            Assert.That(key.GetProperty("approved_by").GetString(), Is.EqualTo("ops"));
            Assert.That(key.GetProperty("source").GetString(), Is.EqualTo("keys_file"));
            Assert.That(DateTimeOffset.Parse(key.GetProperty("created").GetString()!, System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(DateTimeOffset.UtcNow).Within(TimeSpan.FromMinutes(1)));
            Assert.That(DateTimeOffset.Parse(key.GetProperty("last_used").GetString()!, System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(DateTimeOffset.UtcNow).Within(TimeSpan.FromMinutes(1)));
            Assert.That(key.ToString(), Does.Not.Contain(Sha(secret)), "GET shows neither the key nor its hash");
        }

        using var revoked = await admin.PostAsync("api/config/consumers/mobile/keys/m1/revoke", null, cancellationToken);
        Assert.That((int)revoked.StatusCode, Is.EqualTo(200), await revoked.Content.ReadAsStringAsync(cancellationToken));
        Assert.That(await UseAsync(connection, secret, cancellationToken), Is.EqualTo((403, "invalid_access_key")), "revoked: refused on the next request of the open connection");
        Assert.That(await UseAsync(connection, SeedKey, cancellationToken), Is.EqualTo((200, (string?)null)), "the connection stays open and the other key works");

        // Revoked is final; the line stays in the file for the record.
        using var again = await admin.PostAsync("api/config/consumers/mobile/keys/m1/approve", null, cancellationToken);
        Assert.That((int)again.StatusCode, Is.EqualTo(409));
        Assert.That(await File.ReadAllTextAsync(keysFile, cancellationToken), Does.Contain($"m1 {Sha(secret)} state=revoked created=").And.Contain(" approved_by=ops\n"));

        // One audit line per write, naming the token; the secret is in none of them.
        var auditText = await File.ReadAllTextAsync(Path.Combine(Dir(lb), "audit.log"), cancellationToken);
        var audit = auditText.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.That(audit.Select(a => (a.GetProperty("method").GetString(), a.GetProperty("resource").GetString(), a.GetProperty("result").GetString(), a.GetProperty("token_id").GetString())), Is.EqualTo(new[]
        {
            ("POST", "/api/config/consumers/mobile/keys", "applied", "ops"),
            ("POST", "/api/config/consumers/mobile/keys/m1/approve", "applied", "ops"),
            ("POST", "/api/config/consumers/mobile/keys/m1/revoke", "applied", "ops"),
        }));
        Assert.That(audit[1].GetProperty("diff").GetString(), Does.Contain("+m1 ").And.Contain("approved_by=ops"));
        Assert.That(auditText, Does.Not.Contain(secret));
        Assert.That(lb.Engine.Snapshots.Current.Tenants["acme"].State.Refused((int)LoadBalancer.Core.Tenancy.RefusalReason.KeyPending), Is.EqualTo(1));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task AutoApproval_KeyWorksAtOnce_UntilItsExpiry(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await StartAsync(backend.Address, "");
        using var admin = Client(lb, WriteSecret);
        var expires = DateTimeOffset.UtcNow.AddSeconds(4);
        using var created = await admin.PostAsync("api/config/consumers/mobile/keys", Body(new { expires = expires.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture) }), cancellationToken);
        var made = await JsonAsync(created, cancellationToken);
        Assert.That((int)created.StatusCode, Is.EqualTo(201), made.ToString());
        Assert.That(made.GetProperty("state").GetString(), Is.EqualTo("approved"));
        Assert.That(made.GetProperty("id").GetString(), Does.StartWith("key-"), "an id is made when none is asked for");
        var secret = made.GetProperty("key").GetString()!;

        await using var connection = await RawHttpConnection.ConnectAsync(lb.EndPoint(), cancellationToken);
        var first = await UseAsync(connection, secret, cancellationToken);
        if (DateTimeOffset.UtcNow < expires)
        {
            Assert.That(first, Is.EqualTo((200, (string?)null)));
        }

        // The expiry needs no reload: the key is refused from its time on (bounded by the test's CancelAfter).
        (int Status, string? Error) later;
        do
        {
            later = await UseAsync(connection, secret, cancellationToken);
        }
        while (later.Status == 200 && await Task.Delay(50, cancellationToken).ContinueWith(_ => true, TaskScheduler.Default));

        Assert.That(later, Is.EqualTo((403, "key_expired")));
        Assert.That(DateTimeOffset.UtcNow, Is.GreaterThanOrEqualTo(expires.AddMilliseconds(-1)));
        using var listed = await admin.GetAsync($"api/config/consumers/mobile/keys/{made.GetProperty("id").GetString()}", cancellationToken);
        Assert.That((await JsonAsync(listed, cancellationToken)).GetProperty("expired").GetBoolean(), Is.True);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task KeyWrites_BadRequests_AreRefusedAndChangeNothing(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await StartAsync(backend.Address, "key_approval = \"manual\"");
        using var admin = Client(lb, WriteSecret);
        var keysFile = Path.Combine(Dir(lb), "mobile.keys");
        var before = await File.ReadAllTextAsync(keysFile, cancellationToken);

        async Task<int> StatusAsync(string path, object? body)
        {
            using var response = await admin.PostAsync(path, body is null ? null : Body(body), cancellationToken);
            return (int)response.StatusCode;
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(await StatusAsync("api/config/consumers/mobile/keys", new { id = "seed" }), Is.EqualTo(422), "an id in use");
            Assert.That(await StatusAsync("api/config/consumers/mobile/keys", new { id = "has space" }), Is.EqualTo(422));
            Assert.That(await StatusAsync("api/config/consumers/mobile/keys", new { expires = "2020-01-01T00:00:00Z" }), Is.EqualTo(422), "in the past");
            Assert.That(await StatusAsync("api/config/consumers/mobile/keys", new { expires = "tomorrow" }), Is.EqualTo(422));
            Assert.That(await StatusAsync("api/config/consumers/mobile/keys", new { secret = "x" }), Is.EqualTo(422), "an unknown field");
            Assert.That(await StatusAsync("api/config/consumers/nobody/keys", null), Is.EqualTo(404));
            Assert.That(await StatusAsync("api/config/consumers/mobile/keys/ghost/approve", null), Is.EqualTo(404));
            Assert.That(await StatusAsync("api/config/consumers/mobile/keys?dry_run=true", new { id = "m9" }), Is.EqualTo(200), "a dry run");
        }

        Assert.That(await File.ReadAllTextAsync(keysFile, cancellationToken), Is.EqualTo(before));
        Assert.That(File.Exists(Path.Combine(Dir(lb), "audit.log")), Is.False, "refusals and dry runs write no audit line");
    }
}
