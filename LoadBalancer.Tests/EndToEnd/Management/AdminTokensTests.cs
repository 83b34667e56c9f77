using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd.Management;

/// <summary><c>[[admin.tokens]]</c> on the real admin listener: roles, the legacy token, and changes applied by a reload.</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class AdminTokensTests
{
    private const string ReadSecret = "read-secret-0123456789";
    private const string WriteSecret = "write-secret-0123456789";
    private const string LegacySecret = "legacy-secret-0123456789";

    internal static string Sha(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    internal static string Tokens(params (string Id, string Secret, string Role)[] tokens)
        => string.Concat(tokens.Select(t => $"[[admin.tokens]]\nid = \"{t.Id}\"\nsha256 = \"{Sha(t.Secret)}\"\nrole = \"{t.Role}\"\n"));

    private static string Config(string backend, string admin) => $"[admin]\nlisten = \"127.0.0.1:0\"\n{admin}\n" + TestConfigs.OneTenant(backend);

    internal static HttpClient Client(LbTestHost lb, string? secret)
    {
        var client = new HttpClient { BaseAddress = new Uri($"http://{lb.AdminEndPoint}/"), Timeout = TimeSpan.FromSeconds(10) };
        if (secret is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        }

        return client;
    }

    internal static string Error(string json) => System.Text.Json.JsonDocument.Parse(json).RootElement.GetProperty("error").GetString()!;

    [Test]
    [CancelAfter(20_000)]
    public async Task ReadToken_MayOnlyGet_WriteAndLegacyTokens_MayPost(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await LbTestHost.StartAsync(Config(backend.Address, $"token = \"{LegacySecret}\"\n" + Tokens(("ci", ReadSecret, "read"), ("ops", WriteSecret, "write"))));
        using var reader = Client(lb, ReadSecret);
        using var writer = Client(lb, WriteSecret);
        using var legacy = Client(lb, LegacySecret);
        using var nobody = Client(lb, null);
        using var wrong = Client(lb, "not-a-token-at-all");

        using var readGet = await reader.GetAsync("api/tenants", cancellationToken);
        using var readPost = await reader.PostAsync("reload", null, cancellationToken);
        using var readDrain = await reader.PostAsync($"api/pools/p/backends/{backend.Address}/drain", null, cancellationToken);
        using var writePost = await writer.PostAsync("reload", null, cancellationToken);
        using var legacyPost = await legacy.PostAsync("reload", null, cancellationToken);
        using var anonymous = await nobody.GetAsync("api/tenants", cancellationToken);
        using var wrongGet = await wrong.GetAsync("api/tenants", cancellationToken);
        var refusal = Error(await readPost.Content.ReadAsStringAsync(cancellationToken));

        using (Assert.EnterMultipleScope())
        {
            Assert.That((int)readGet.StatusCode, Is.EqualTo(200));
            Assert.That((int)readPost.StatusCode, Is.EqualTo(403));
            Assert.That(refusal, Does.Contain("\"ci\" has role \"read\""), refusal);
            Assert.That((int)readDrain.StatusCode, Is.EqualTo(403));
            Assert.That(lb.Engine.Snapshots.Current.Pools["p"].Backends[0].IsDrained, Is.False);
            Assert.That((int)writePost.StatusCode, Is.EqualTo(200));
            Assert.That((int)legacyPost.StatusCode, Is.EqualTo(200));
            Assert.That((int)anonymous.StatusCode, Is.EqualTo(401));
            Assert.That((int)wrongGet.StatusCode, Is.EqualTo(401));
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task TokenChanges_ApplyOnReload_WithoutRestart(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await LbTestHost.StartAsync(Config(backend.Address, ""));
        using var nobody = Client(lb, null);
        using var writer = Client(lb, WriteSecret);

        // No token at first: open, as before.
        using (var open = await nobody.GetAsync("api/tenants", cancellationToken))
        {
            Assert.That((int)open.StatusCode, Is.EqualTo(200));
        }

        await lb.WriteConfigAsync(Config(backend.Address, Tokens(("ops", WriteSecret, "write"))));
        using (var reload = await nobody.PostAsync("reload", null, cancellationToken))
        {
            Assert.That((int)reload.StatusCode, Is.EqualTo(200), await reload.Content.ReadAsStringAsync(cancellationToken));
        }

        using (var closed = await nobody.GetAsync("api/tenants", cancellationToken))
        using (var withToken = await writer.GetAsync("api/tenants", cancellationToken))
        {
            Assert.That((int)closed.StatusCode, Is.EqualTo(401));
            Assert.That((int)withToken.StatusCode, Is.EqualTo(200));
        }

        // The same token demoted to read: its next POST is refused.
        await lb.WriteConfigAsync(Config(backend.Address, Tokens(("ops", WriteSecret, "read"))));
        using (var reload = await writer.PostAsync("reload", null, cancellationToken))
        {
            Assert.That((int)reload.StatusCode, Is.EqualTo(200), await reload.Content.ReadAsStringAsync(cancellationToken));
        }

        using var demoted = await writer.PostAsync("reload", null, cancellationToken);
        Assert.That((int)demoted.StatusCode, Is.EqualTo(403));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task ConfigWrite_WithNoTokenConfigured_Is403_SayingHowToConfigureOne(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await LbTestHost.StartAsync(Config(backend.Address, ""));
        using var nobody = Client(lb, null);

        using var put = await nobody.PutAsync("api/config/tenants/acme", new StringContent("{}", Encoding.UTF8, "application/json"), cancellationToken);
        var body = Error(await put.Content.ReadAsStringAsync(cancellationToken));

        Assert.That((int)put.StatusCode, Is.EqualTo(403));
        Assert.That(put.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"));
        Assert.That(body, Does.Contain("[[admin.tokens]]").And.Contain("sha256sum").And.Contain("role = \"write\""), body);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task AdminListen_MovedByReload_NewAddressServes_OldOneAnswersTheReloadThenCloses(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await LbTestHost.StartAsync(Config(backend.Address, ""));
        var before = lb.AdminEndPoint!;
        using var old = Client(lb, null);

        await lb.WriteConfigAsync(Config(backend.Address, "").Replace("listen = \"127.0.0.1:0\"\n", "listen = \"127.0.0.2:0\"\n", StringComparison.Ordinal));
        using var reload = await old.PostAsync("reload", null, cancellationToken);
        var moved = lb.AdminEndPoint!;
        using var fresh = new HttpClient { BaseAddress = new Uri($"http://{moved}/"), Timeout = TimeSpan.FromSeconds(10) };
        using var health = await fresh.GetAsync("healthz", cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((int)reload.StatusCode, Is.EqualTo(200), await reload.Content.ReadAsStringAsync(cancellationToken));
            Assert.That(moved.Address.ToString(), Is.EqualTo("127.0.0.2"));
            Assert.That((int)health.StatusCode, Is.EqualTo(200));
            Assert.That(lb.Engine.GetListenerEndPoint("web"), Is.Not.Null);
        }

        using var probe = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        Assert.That(async () => await probe.ConnectAsync(before, cancellationToken), Throws.InstanceOf<System.Net.Sockets.SocketException>(), "the old address no longer accepts");
    }
}
