using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>
/// The shipped lb.toml as a newcomer runs it (<c>lb --config lb.toml --demo</c>), through the real process: the
/// tenant with two routes and the consumer with a quota do what its comments say. Only its fixed ports are moved to
/// free ones, so the test runs beside anything else on the machine.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class ShippedConfigDemoTests
{
    private static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string host, string path, string? key, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Host = host;
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return await client.SendAsync(request, cancellationToken);
    }

    private static string Header(HttpResponseMessage response, string name)
        => response.Headers.TryGetValues(name, out var values) ? string.Join(", ", values) : "";

    [Test]
    [CancelAfter(60_000)]
    public async Task Demo_ShippedConfig_BothRoutesOfAcme_AndTheConsumersKeyWithItsQuotaHeaders(CancellationToken cancellationToken)
    {
        var directory = Directory.CreateTempSubdirectory("lb-demo-").FullName;
        try
        {
            var text = await File.ReadAllTextAsync(Path.Combine(TestContext.CurrentContext.TestDirectory, "lb.toml"), cancellationToken);
            var moves = new Dictionary<string, string> { ["127.0.0.1:8080"] = "127.0.0.1:0", ["127.0.0.1:9900"] = "127.0.0.1:0" };
            for (var port = 9001; port <= 9005; port++)
            {
                moves[$"127.0.0.1:{port}"] = $"127.0.0.1:{FreePort()}";
            }

            foreach (var (from, to) in moves)
            {
                Assert.That(text, Does.Contain($"\"{from}\""), "the shipped lb.toml still listens or sends there");
                text = text.Replace($"\"{from}\"", $"\"{to}\"", StringComparison.Ordinal);
            }

            var config = Path.Combine(directory, "lb.toml");
            await File.WriteAllTextAsync(config, text, cancellationToken);
            await using var lb = await LbProcess.StartAsync(config, cancellationToken, null, "--demo");
            using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri($"http://{lb.EndPoint()}/"), Timeout = TimeSpan.FromSeconds(10) };

            // acme's route "chat" (POST, its own pool acme-llm, response header set) and route "files" (acme-pool).
            using var chat = await SendAsync(client, HttpMethod.Post, "acme.example.com", "/v1/chat/completions", null, cancellationToken);
            using var files = await SendAsync(client, HttpMethod.Get, "acme.example.com", "/v1/files/a.txt", null, cancellationToken);
            using var fallback = await SendAsync(client, HttpMethod.Get, "acme.example.com", "/", null, cancellationToken);

            // initech's consumer: its key (the one the comment's curl sends) is served with the quota's headers; no key is 401.
            using var consumer = await SendAsync(client, HttpMethod.Get, "initech.example.com", "/", "lbk_demo_initech_mobile", cancellationToken);
            using var noKey = await SendAsync(client, HttpMethod.Get, "initech.example.com", "/", null, cancellationToken);

            using var admin = new HttpClient { BaseAddress = new Uri($"http://{lb.AdminEndPoint}/"), Timeout = TimeSpan.FromSeconds(10) };
            var metrics = await admin.GetStringAsync("metrics", cancellationToken);
            using var usage = JsonDocument.Parse(await admin.GetStringAsync("api/usage", cancellationToken));
            var quota = usage.RootElement.GetProperty("tenants").EnumerateArray().Single(t => t.GetProperty("tenant").GetString() == "initech")
                .GetProperty("consumers").GetProperty("initech-mobile").GetProperty("quota");
            TestContext.Out.WriteLine($"chat: {Header(chat, "X-Backend")}; files: {Header(files, "X-Backend")}; consumer: RateLimit-Policy {Header(consumer, "RateLimit-Policy")}, RateLimit {Header(consumer, "RateLimit")}");

            using (Assert.EnterMultipleScope())
            {
                Assert.That((int)chat.StatusCode, Is.EqualTo(200), lb.Output);
                Assert.That(Header(chat, "X-Backend"), Does.Contain("backend=" + moves["127.0.0.1:9005"]), "chat goes to acme-llm");
                Assert.That(chat.Headers.CacheControl?.NoStore, Is.True, "chat's response_headers");
                Assert.That((int)files.StatusCode, Is.EqualTo(200));
                Assert.That(Header(files, "X-Backend"), Does.Contain("tenant=acme").And.Not.Contain(moves["127.0.0.1:9005"]), "files goes to acme-pool");
                Assert.That((int)fallback.StatusCode, Is.EqualTo(200));
                Assert.That(metrics, Does.Contain("lb_route_requests_total{tenant=\"acme\",route=\"chat\"").And.Contain("lb_route_requests_total{tenant=\"acme\",route=\"files\""));

                Assert.That((int)consumer.StatusCode, Is.EqualTo(200), lb.Output);

                // The headers name the limit that binds first (README "Consumers"): its bucket's burst of 40, not 100,000
                // a month; the quota's count is in /api/usage.
                Assert.That(Header(consumer, "RateLimit-Policy"), Is.EqualTo("\"rate\";q=40;w=2"));
                Assert.That(Header(consumer, "RateLimit"), Does.StartWith("\"rate\";r=39;t="));
                Assert.That((quota.GetProperty("requests").GetInt64(), quota.GetProperty("period").GetString(), quota.GetProperty("used").GetInt64()), Is.EqualTo((100_000L, "month", 1L)));
                Assert.That((int)noKey.StatusCode, Is.EqualTo(401));
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
