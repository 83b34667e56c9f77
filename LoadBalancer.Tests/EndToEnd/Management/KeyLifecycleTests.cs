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

    private static string Config(string backend, string approval, string listenerExtra = "", string consumerKeys = "keys_file = \"mobile.keys\"") => "[admin]\nlisten = \"127.0.0.1:0\"\naudit_log = \"audit.log\"\n"
        + Tokens(("ops", WriteSecret, "write"), ("ci", ReadSecret, "read")) + "\n"
        + TestConfigs.OneTenant(backend, listenerExtra: listenerExtra, tenantExtra: approval)
        + $"\n\n[[consumers]]\nname = \"mobile\"\ntenant = \"acme\"\n{consumerKeys}\n";

    private static Task<LbTestHost> StartAsync(string backend, string approval, string listenerExtra = "", string consumerKeys = "keys_file = \"mobile.keys\"")
        => LbTestHost.StartAsync(Config(backend, approval, listenerExtra, consumerKeys), beforeLoad: dir => File.WriteAllText(Path.Combine(dir, "mobile.keys"), string.Format(System.Globalization.CultureInfo.InvariantCulture, KeysFileText, Sha(SeedKey))));

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

    private static string FileEtag(string path) => "\"" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(path))) + "\"";

    private static async Task<(int Status, JsonElement Json, string? Etag)> PostAsync(HttpClient admin, string path, object? body, string? ifMatch, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = body is null ? null : Body(body) };
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }

        using var response = await admin.SendAsync(request, cancellationToken);
        return ((int)response.StatusCode, await JsonAsync(response, cancellationToken), response.Headers.ETag?.ToString());
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task KeyWrites_IfMatch_IsTheKeysFilesEtag_StaleByApiOrByHandIs409_ChangesNothing(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await StartAsync(backend.Address, "key_approval = \"manual\"");
        using var admin = Client(lb, WriteSecret);
        var keysFile = Path.Combine(Dir(lb), "mobile.keys");

        using var listed = await admin.GetAsync("api/config/consumers/mobile/keys", cancellationToken);
        var first = listed.Headers.ETag?.ToString();
        Assert.That(first, Is.EqualTo(FileEtag(keysFile)), "the key API's ETag is the keys file's");

        var created = await PostAsync(admin, "api/config/consumers/mobile/keys", new { id = "m1" }, first, cancellationToken);
        Assert.That(created.Status, Is.EqualTo(201), created.Json.ToString());
        var second = FileEtag(keysFile);
        Assert.That(created.Etag, Is.EqualTo(second), "a write answers the file's new tag");

        // Stale after another API write: 409 with the current tag, and the file is unchanged.
        var stale = await PostAsync(admin, "api/config/consumers/mobile/keys/m1/approve", null, first, cancellationToken);
        Assert.That((stale.Status, stale.Json.GetProperty("etag").GetString(), stale.Etag), Is.EqualTo((409, second, second)));

        // lb.toml's tag is not the keys file's: refused too.
        var tomlTag = "\"" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(lb.ConfigPath))) + "\"";
        Assert.That((await PostAsync(admin, "api/config/consumers/mobile/keys/m1/approve", null, tomlTag, cancellationToken)).Status, Is.EqualTo(409));

        // Stale after a hand edit of the file.
        await File.AppendAllTextAsync(keysFile, "# edited by hand\n", cancellationToken);
        var edited = await File.ReadAllTextAsync(keysFile, cancellationToken);
        var byHand = await PostAsync(admin, "api/config/consumers/mobile/keys/m1/approve", null, second, cancellationToken);
        Assert.That(byHand.Status, Is.EqualTo(409));
        Assert.That(await File.ReadAllTextAsync(keysFile, cancellationToken), Is.EqualTo(edited));
        Assert.That(await File.ReadAllTextAsync(keysFile, cancellationToken), Does.Contain("state=pending"));

        // The current tag (and "*") write.
        var approved = await PostAsync(admin, "api/config/consumers/mobile/keys/m1/approve", null, FileEtag(keysFile), cancellationToken);
        Assert.That(approved.Status, Is.EqualTo(200), approved.Json.ToString());
        Assert.That(approved.Etag, Is.EqualTo(FileEtag(keysFile)));
        Assert.That((await PostAsync(admin, "api/config/consumers/mobile/keys/m1/revoke", null, "*", cancellationToken)).Status, Is.EqualTo(200));
        var audit = (await File.ReadAllTextAsync(Path.Combine(Dir(lb), "audit.log"), cancellationToken)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(audit, Has.Length.EqualTo(3), "the 409s write no audit line");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task ConsumerWithoutKeysFile_KeyWritesAre422_SayingToAddOne_InlineKeysListedWithoutLifecycle(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await StartAsync(backend.Address, "", consumerKeys: $"keys = [ {{ id = \"inline-1\", sha256 = \"{Sha(SeedKey)}\" }} ]");
        using var admin = Client(lb, WriteSecret);
        var toml = await File.ReadAllBytesAsync(lb.ConfigPath, cancellationToken);

        var create = await PostAsync(admin, "api/config/consumers/mobile/keys", new { id = "m1" }, null, cancellationToken);
        var error = create.Json.GetProperty("errors")[0];
        Assert.That((create.Status, error.GetProperty("path").GetString()), Is.EqualTo((422, "consumers[mobile].keys_file")));
        Assert.That(error.GetProperty("message").GetString(), Does.Contain("has no keys_file").And.Contain("add keys_file = \"mobile.keys\""));

        var approve = await PostAsync(admin, "api/config/consumers/mobile/keys/inline-1/revoke", null, null, cancellationToken);
        Assert.That((approve.Status, approve.Json.GetProperty("errors")[0].GetProperty("path").GetString()), Is.EqualTo((422, "consumers[mobile].keys")));
        Assert.That(approve.Json.GetProperty("errors")[0].GetProperty("message").GetString(), Does.Contain("has no lifecycle"));

        using var listed = await admin.GetAsync("api/config/consumers/mobile/keys", cancellationToken);
        var keys = await JsonAsync(listed, cancellationToken);
        Assert.That(keys.GetProperty("keys_file").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(keys.GetProperty("keys").EnumerateArray().Select(k => (k.GetProperty("id").GetString(), k.GetProperty("source").GetString(), k.GetProperty("state").GetString())),
            Is.EqualTo(new[] { ("inline-1", "lb.toml", "approved") }));
        Assert.That(await File.ReadAllBytesAsync(lb.ConfigPath, cancellationToken), Is.EqualTo(toml));
        Assert.That(File.Exists(Path.Combine(Dir(lb), "audit.log")), Is.False);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Http2_RevokedKey_RefusedOnTheNextStreamOfTheOpenConnection(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await StartAsync(backend.Address, "", listenerExtra: "http2 = true");
        using var admin = Client(lb, WriteSecret);
        var made = await PostAsync(admin, "api/config/consumers/mobile/keys", new { id = "h2" }, null, cancellationToken);
        Assert.That(made.Status, Is.EqualTo(201), made.Json.ToString());
        var secret = made.Json.GetProperty("key").GetString()!;

        // Prior knowledge h2; the connect callback counts the TCP connections the client opens (one, multiplexed).
        var connections = 0;
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, token) =>
            {
                Interlocked.Increment(ref connections);
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(context.DnsEndPoint, token);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
        };
        using var client = new HttpClient(handler) { BaseAddress = new Uri($"http://{lb.EndPoint()}/") };

        async Task<(System.Net.HttpStatusCode Status, Version Version, string Body)> UseH2Async(string key)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/app") { Version = System.Net.HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
            request.Headers.Host = "acme.example.com";
            request.Headers.TryAddWithoutValidation("Authorization", $"Bearer {key}");
            request.Headers.TryAddWithoutValidation("Accept", "application/json");
            using var response = await client.SendAsync(request, cancellationToken);
            return (response.StatusCode, response.Version, await response.Content.ReadAsStringAsync(cancellationToken));
        }

        var before = await UseH2Async(secret);
        Assert.That((before.Status, before.Version), Is.EqualTo((System.Net.HttpStatusCode.OK, System.Net.HttpVersion.Version20)));

        var revoked = await PostAsync(admin, "api/config/consumers/mobile/keys/h2/revoke", null, null, cancellationToken);
        Assert.That(revoked.Status, Is.EqualTo(200), revoked.Json.ToString());

        var after = await UseH2Async(secret);
        Assert.That((after.Status, after.Version), Is.EqualTo((System.Net.HttpStatusCode.Forbidden, System.Net.HttpVersion.Version20)));
        Assert.That(JsonDocument.Parse(after.Body).RootElement.GetProperty("error").GetString(), Is.EqualTo("invalid_access_key"));
        Assert.That((await UseH2Async(SeedKey)).Status, Is.EqualTo(System.Net.HttpStatusCode.OK), "the other key still works on the connection");
        Assert.That(Volatile.Read(ref connections), Is.EqualTo(1), "every request went on the one open HTTP/2 connection");
        Assert.That(backend.Requests.Count(r => r.RequestLine.StartsWith("GET /app ", StringComparison.Ordinal)), Is.EqualTo(2), "the revoked key's request never reached the backend");
    }
}
