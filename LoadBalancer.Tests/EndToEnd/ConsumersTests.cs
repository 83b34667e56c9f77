using System.Globalization;
using System.Text.Json;
using LoadBalancer.Core.Metrics;
using LoadBalancer.Core.Tenancy;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>
/// Consumers end to end (issue 13): a key names the consumer; subscriptions (403), its own rate limit and quota (429
/// with Retry-After), and the RateLimit-Policy / RateLimit headers on every answer to it, lb's and the backend's.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class ConsumersTests
{
    private const string MobileKey = "lbk_mobile_0123456789";
    private const string PartnerKey = "lbk_partner_0123456789";
    private const string TenantKey = "lbk_tenant_0123456789";

    private static string Config(string backend) => $$"""
        [[listeners]]
        name = "web"
        listen = "127.0.0.1:0"

        [[tenants]]
        name = "acme"
        match = ["acme.example.com"]
        pool = "p"
        access_keys = [ { id = "ops", sha256 = "{{AccessKeyGenerator.Sha256Hex(TenantKey)}}" } ]

        [[tenants.routes]]
        name = "chat"
        path_prefix = "/v1/chat"

        [[tenants.routes]]
        name = "files"
        path_prefix = "/v1/files"

        [[pools]]
        name = "p"
        backends = [ { address = "{{backend}}" } ]

        [[consumers]]
        name = "mobile"
        tenant = "acme"
        keys = [ { id = "mobile-1", sha256 = "{{AccessKeyGenerator.Sha256Hex(MobileKey)}}" } ]
        quota = { requests = 3, period = "day" }
        routes = ["chat"]

        [[consumers]]
        name = "partner"
        tenant = "acme"
        keys = [ { id = "partner-1", sha256 = "{{AccessKeyGenerator.Sha256Hex(PartnerKey)}}" } ]
        rate_limit = { requests_per_second = 1, burst = 2 }
        """;

    private static string Get(string path, string key) => $"GET {path} HTTP/1.1\r\nHost: acme.example.com\r\nAuthorization: Bearer {key}\r\n\r\n";

    [Test]
    [CancelAfter(20_000)]
    public async Task Subscriptions_Quota_RateLimitHeaders(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(Config(backend.Address));
        await using var connection = await lb.ConnectAsync(cancellationToken);
        async Task<RawHttpResponse> SendAsync(string request)
        {
            await connection.SendAsync(request, cancellationToken);
            return (await connection.ReadResponseAsync(cancellationToken))!;
        }

        // Not subscribed: another route, and the tenant's fallback pool (the consumer lists only chat).
        var files = await SendAsync(Get("/v1/files/a", MobileKey));
        var other = await SendAsync(Get("/elsewhere", MobileKey));
        Assert.That((files.Status, other.Status), Is.EqualTo((403, 403)));
        Assert.That(files.BodyText, Does.Contain("not subscribed"));
        Assert.That(files.Header("RateLimit-Policy"), Is.EqualTo("\"quota\";q=3;w=86400"));
        Assert.That(files.Header("RateLimit"), Does.StartWith("\"quota\";r=3;t="));

        // The quota: three requests a day, then 429 until midnight UTC.
        var answers = new List<RawHttpResponse>();
        for (var i = 0; i < 4; i++)
        {
            answers.Add(await SendAsync(Get("/v1/chat/x", MobileKey)));
        }

        Assert.That(answers.Select(a => a.Status), Is.EqualTo(new[] { 200, 200, 200, 429 }));
        Assert.That(answers.Select(a => a.Header("RateLimit")![..14]), Is.EqualTo(new[] { "\"quota\";r=2;t=", "\"quota\";r=1;t=", "\"quota\";r=0;t=", "\"quota\";r=0;t=" }));
        var now = DateTime.UtcNow;
        var untilMidnight = (now.Date.AddDays(1) - now).TotalSeconds;
        var retryAfter = long.Parse(answers[3].Header("Retry-After")!, CultureInfo.InvariantCulture);
        Assert.That(retryAfter, Is.InRange(untilMidnight - 5, untilMidnight + 5), "Retry-After until the period ends");
        Assert.That(answers[3].BodyText, Does.Contain("quota"));
        Assert.That(backend.Requests, Has.Count.EqualTo(3));
        Assert.That(backend.Requests.All(r => !r.Head.Contains("RateLimit", StringComparison.Ordinal)), Is.True, "the headers are for the client");

        // Its own rate limit: a burst of 2, on top of the tenant's limits; the tenant's own key has neither.
        var partner = new List<RawHttpResponse>();
        for (var i = 0; i < 3; i++)
        {
            partner.Add(await SendAsync(Get("/v1/files/b", PartnerKey)));
        }

        Assert.That(partner.Select(a => a.Status), Is.EqualTo(new[] { 200, 200, 429 }));
        Assert.That(partner[0].Header("RateLimit-Policy"), Is.EqualTo("\"rate\";q=2;w=2"));
        Assert.That(partner[2].Header("RateLimit"), Does.StartWith("\"rate\";r=0;t="));
        Assert.That(partner[2].Header("Retry-After"), Is.EqualTo("1"));
        var ops = await SendAsync(Get("/elsewhere", TenantKey));
        Assert.That((ops.Status, ops.Header("RateLimit")), Is.EqualTo((200, (string?)null)));

        var state = lb.Snapshot.Tenants["acme"].State;
        Assert.That(
            (state.Refused((int)RefusalReason.NotSubscribed), state.Refused((int)RefusalReason.QuotaExceeded), state.Refused((int)RefusalReason.ConsumerRateLimited)),
            Is.EqualTo((2L, 1L, 1L)));
        var mobile = state.Consumers.Single(c => c.Key == "mobile").Value;
        Assert.That((mobile.TotalRequests, mobile.Requests(2), mobile.NotSubscribed, mobile.QuotaExceeded), Is.EqualTo((6L, 3L, 2L, 1L)));
        Assert.That(lb.Snapshot.Tenants["acme"].Consumers.Single(c => c.Name == "mobile").Quota!.Current.Used, Is.EqualTo(3));
        Assert.That(PrometheusWriter.Write(lb.Snapshot), Does.Contain("lb_refused_total{tenant=\"acme\",reason=\"quota_exceeded\"} 1\n"));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task AccessLog_NamesTheConsumer(CancellationToken cancellationToken)
    {
        var directory = Directory.CreateTempSubdirectory("lb-consumers-");
        try
        {
            await using var backend = RecordingBackend.Start();
            var lb = await TestLb.StartAsync("[access_log]\npath = \"access.log\"\n" + Config(backend.Address), Path.Combine(directory.FullName, "lb.toml"));
            await using (lb)
            {
                await using var connection = await lb.ConnectAsync(cancellationToken);
                foreach (var key in new[] { MobileKey, TenantKey })
                {
                    await connection.SendAsync(Get("/v1/chat/x", key), cancellationToken);
                    Assert.That((await connection.ReadResponseAsync(cancellationToken))!.Status, Is.EqualTo(200));
                }
            }

            var lines = (await File.ReadAllLinesAsync(Path.Combine(directory.FullName, "access.log"), cancellationToken)).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
            Assert.That(lines.Select(l => l.GetProperty("consumer").ValueKind == JsonValueKind.Null ? null : l.GetProperty("consumer").GetString()), Is.EqualTo(new[] { "mobile", null }));
            Assert.That(lines.Select(l => l.GetProperty("key_id").GetString()), Is.EqualTo(new[] { "mobile-1", "ops" }));
            Assert.That(lines.Select(l => l.GetProperty("route").GetString()), Is.EqualTo(new[] { "chat", "chat" }));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
