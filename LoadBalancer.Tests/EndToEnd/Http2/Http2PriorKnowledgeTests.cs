using System.Net;
using System.Net.Http.Headers;
using System.Text;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd.Http2;

/// <summary>
/// HTTP/2 with prior knowledge (<c>http2 = true</c>) end to end: real clients (.NET HttpClient, curl) through lb to
/// in-test HTTP/1.1 backends. Each stream is routed by its own :authority, so two tenants share one connection.
/// </summary>
[TestFixture]
public sealed class Http2PriorKnowledgeTests
{
    private static HttpClient H2cClient(TestLb lb) => new(new SocketsHttpHandler { UseProxy = false })
    {
        BaseAddress = new Uri($"http://{lb.EndPoint()}/"),
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = TimeSpan.FromSeconds(30),
    };

    private static HttpRequestMessage Get(string host, string path) => H2(HttpMethod.Get, host, path, content: null);

    /// <summary>A request that must go as HTTP/2 with prior knowledge (no fallback to HTTP/1.1).</summary>
    private static HttpRequestMessage H2(HttpMethod method, string host, string path, HttpContent? content)
    {
        var request = new HttpRequestMessage(method, path)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        request.Headers.Host = host;
        return request;
    }

    [Test]
    public async Task TwoTenantsOnOneConnection_EachStreamReachesItsOwnBackend()
    {
        await using var acme = RecordingBackend.Start(_ => RecordingBackend.Ok("acme\n"));
        await using var globex = RecordingBackend.Start(_ => RecordingBackend.Ok("globex\n"));
        await using var lb = await TestLb.StartAsync(TestConfigs.TwoTenantsHttp2(acme.Address, globex.Address));
        using var client = H2cClient(lb);

        var tasks = new List<Task<(string Host, HttpResponseMessage Response)>>();
        for (var i = 0; i < 20; i++)
        {
            var host = i % 2 == 0 ? "acme.example.com" : "globex.example.com";
            tasks.Add(Task.Run(async () => (host, await client.SendAsync(Get(host, $"/item/{i}")))));
        }

        foreach (var (host, response) in await Task.WhenAll(tasks))
        {
            Assert.That(response.Version, Is.EqualTo(HttpVersion.Version20));
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo(host.StartsWith("acme", StringComparison.Ordinal) ? "acme\n" : "globex\n"));
        }

        Assert.That(acme.Requests, Has.Count.EqualTo(10));
        Assert.That(globex.Requests, Has.Count.EqualTo(10));
        var first = acme.Requests.First();
        Assert.That(first.RequestLine, Does.Match(@"^GET /item/\d+ HTTP/1\.1$"));
        Assert.That(first.Values("host"), Is.EqualTo(new[] { "acme.example.com" }));
        Assert.That(first.Values("x-forwarded-proto"), Is.EqualTo(new[] { "http" }));
    }

    [Test]
    public async Task RequestBodies_ArriveWhole_WithLengthAndChunkedWhenTheLengthIsUnknown()
    {
        await using var backend = RecordingBackend.Start(_ => RecordingBackend.Ok("ok"));
        await using var lb = await TestLb.StartAsync(TestConfigs.OneTenant(backend.Address, listenerExtra: "http2 = true"));
        using var client = H2cClient(lb);
        var payload = new byte[200_000];
        new Random(9113).NextBytes(payload);

        var response = await client.SendAsync(H2(HttpMethod.Post, "acme.example.com", "/upload", new ByteArrayContent(payload)));
        Assert.That((response.Version, response.StatusCode), Is.EqualTo((HttpVersion.Version20, HttpStatusCode.OK)));

        var streamed = new StreamContent(new MemoryStream(payload));
        streamed.Headers.ContentLength = null;
        response = await client.SendAsync(H2(HttpMethod.Post, "acme.example.com", "/stream", streamed));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));

        var requests = backend.Requests.ToList();
        Assert.That(requests, Has.Count.EqualTo(2));
        Assert.That(requests[0].Values("content-length"), Is.EqualTo(new[] { "200000" }));
        Assert.That(requests[0].BodyBytes, Is.EqualTo(payload));
        Assert.That(requests[1].Values("transfer-encoding"), Is.EqualTo(new[] { "chunked" }));
        Assert.That(Dechunk(requests[1].BodyBytes), Is.EqualTo(payload));
    }

    [Test]
    public async Task LargeResponses_FlowThroughTheWindows_ChunkedOnesDechunked()
    {
        var body = new byte[1 << 20];
        new Random(7540).NextBytes(body);
        await using var backend = RecordingBackend.Start(request =>
            request.RequestLine.Contains("/chunked", StringComparison.Ordinal)
                ? [.. Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{body.Length:x}\r\n"), .. body, .. "\r\n0\r\n\r\n"u8.ToArray()]
                : [.. Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\nX-Kind: Length\r\n\r\n"), .. body]);
        await using var lb = await TestLb.StartAsync(TestConfigs.OneTenant(backend.Address, listenerExtra: "http2 = true"));
        using var client = H2cClient(lb);

        var response = await client.SendAsync(Get("acme.example.com", "/length"));
        Assert.That(await response.Content.ReadAsByteArrayAsync(), Is.EqualTo(body));
        Assert.That(response.Headers.GetValues("x-kind"), Is.EqualTo(new[] { "Length" }));
        Assert.That(response.Content.Headers.ContentLength, Is.EqualTo(body.Length));

        response = await client.SendAsync(Get("acme.example.com", "/chunked"));
        Assert.That(await response.Content.ReadAsByteArrayAsync(), Is.EqualTo(body));
        Assert.That(response.Headers.TransferEncodingChunked, Is.Not.True);
    }

    [Test]
    public async Task LbsOwnAnswers_AreHttp2Responses()
    {
        await using var backend = RecordingBackend.Start(_ => RecordingBackend.Ok("ok"));
        await using var lb = await TestLb.StartAsync(TestConfigs.OneTenant(backend.Address, listenerExtra: "http2 = true"));
        using var client = H2cClient(lb);

        var unknown = await client.SendAsync(Get("nobody.example.com", "/"));
        Assert.That(unknown.StatusCode, Is.EqualTo(HttpStatusCode.MisdirectedRequest));
        Assert.That(await unknown.Content.ReadAsStringAsync(), Does.StartWith("421"));

        // The connection carries on after lb's own answer.
        var ok = await client.SendAsync(Get("acme.example.com", "/"));
        Assert.That(ok.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(backend.Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task Curl_HttpPriorKnowledge()
    {
        var curl = ExternalTool.Find("curl");
        if (curl is null)
        {
            Assert.Ignore("curl is not installed (.ci/run installs it)");
        }

        await using var backend = RecordingBackend.Start(_ => RecordingBackend.Ok("hello from acme\n", "Set-Cookie: a=1\r\n"));
        await using var lb = await TestLb.StartAsync(TestConfigs.OneTenant(backend.Address, listenerExtra: "http2 = true"));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var (exit, output, errors) = await ExternalTool.RunAsync(curl!, ["-sS", "-i", "--http2-prior-knowledge", "-H", "Host: acme.example.com", $"http://{lb.EndPoint()}/hello"], null, timeout.Token);
        Assert.That(exit, Is.Zero, errors);
        Assert.That(output, Does.StartWith("HTTP/2 200"));
        Assert.That(output, Does.Contain("set-cookie: a=1"));
        Assert.That(output, Does.EndWith("hello from acme\n"));
    }

    [Test]
    public async Task Http2ByDefault_PriorKnowledgeIsServed_AndHttp11IsUnchanged()
    {
        await using var backend = RecordingBackend.Start(_ => RecordingBackend.Ok("ok"));
        await using var lb = await TestLb.StartAsync(TestConfigs.OneTenant(backend.Address));
        using var h2c = H2cClient(lb);
        using var http11 = new HttpClient();

        using var overH2 = await h2c.SendAsync(Get("acme.example.com", "/2"));
        using var overH1 = await http11.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"http://{lb.EndPoint()}/1") { Headers = { Host = "acme.example.com" } });

        Assert.That((overH2.Version, (int)overH2.StatusCode), Is.EqualTo((HttpVersion.Version20, 200)));
        Assert.That((overH1.Version, (int)overH1.StatusCode), Is.EqualTo((HttpVersion.Version11, 200)));
        Assert.That(await overH1.Content.ReadAsStringAsync(), Is.EqualTo("ok"));
    }

    [Test]
    public async Task Http2Off_ThePrefaceIsRefusedAsHttp1()
    {
        await using var backend = RecordingBackend.Start(_ => RecordingBackend.Ok("ok"));
        await using var lb = await TestLb.StartAsync(TestConfigs.OneTenant(backend.Address, listenerExtra: "http2 = false"));
        using var client = H2cClient(lb);
        Assert.That(async () => await client.SendAsync(Get("acme.example.com", "/")), Throws.InstanceOf<HttpRequestException>());
        Assert.That(backend.Requests, Is.Empty);
    }

    private static byte[] Dechunk(byte[] chunked)
    {
        var output = new MemoryStream();
        var at = 0;
        while (true)
        {
            var lineEnd = Array.IndexOf(chunked, (byte)'\r', at);
            var size = Convert.ToInt32(Encoding.ASCII.GetString(chunked, at, lineEnd - at), 16);
            at = lineEnd + 2;
            if (size == 0)
            {
                return output.ToArray();
            }

            output.Write(chunked, at, size);
            at += size + 2;
        }
    }
}
