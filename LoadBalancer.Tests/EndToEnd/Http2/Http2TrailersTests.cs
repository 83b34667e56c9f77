using System.Net;
using System.Text;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd.Http2;

/// <summary>
/// Response trailers over HTTP/2: a backend's chunked trailer section becomes the stream's last HEADERS block, with
/// END_STREAM (RFC 9113 section 8.1), as gRPC's grpc-status needs. Real client (.NET HttpClient, prior knowledge).
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class Http2TrailersTests
{
    private static byte[] Chunked(string trailerSection) => Encoding.ASCII.GetBytes(
        "HTTP/1.1 200 OK\r\nContent-Type: application/grpc\r\nTransfer-Encoding: chunked\r\nTrailer: grpc-status\r\n\r\n"
        + "5\r\nhello\r\n6\r\n world\r\n0\r\n" + trailerSection + "\r\n");

    private static async Task<HttpResponseMessage> GetAsync(TestLb lb, CancellationToken cancellationToken)
    {
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        var request = new HttpRequestMessage(HttpMethod.Get, $"http://{lb.EndPoint()}/svc/Method")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Headers.Host = "acme.example.com";
        var response = await client.SendAsync(request, cancellationToken);
        await response.Content.LoadIntoBufferAsync(cancellationToken);
        return response;
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task ChunkedTrailers_ArriveAsHttp2Trailers_ConnectionSpecificOnesDropped(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start(_ => Chunked("grpc-status: 0\r\nGrpc-Message: all good\r\nConnection: close-ish\r\n"));
        await using var lb = await TestLb.StartAsync(TestConfigs.OneTenant(backend.Address, listenerExtra: "http2 = true"));

        using var response = await GetAsync(lb, cancellationToken);
        var trailers = response.TrailingHeaders.ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.Version, Is.EqualTo(HttpVersion.Version20));
            Assert.That(await response.Content.ReadAsStringAsync(cancellationToken), Is.EqualTo("hello world"));
            Assert.That(trailers, Is.EquivalentTo(new Dictionary<string, string> { ["grpc-status"] = "0", ["grpc-message"] = "all good" }));
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task ChunkedWithoutTrailers_EndsWithEmptyData_AndTheBackendConnectionIsReused(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start(_ => Chunked(""));

        // One loop: each request is a new client connection, and idle backend connections are kept per loop.
        await using var lb = await TestLb.StartAsync(TestConfigs.OneTenant(backend.Address, listenerExtra: "http2 = true"), loops: 1);

        for (var i = 0; i < 3; i++)
        {
            using var response = await GetAsync(lb, cancellationToken);
            using (Assert.EnterMultipleScope())
            {
                Assert.That(await response.Content.ReadAsStringAsync(cancellationToken), Is.EqualTo("hello world"));
                Assert.That(response.TrailingHeaders, Is.Empty);
            }
        }

        Assert.That(backend.Connections, Is.EqualTo(1), "the chunked end was read, so the backend connection stayed reusable");
    }
}
