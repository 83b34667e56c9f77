using System.Net;
using Grpc.Core;
using Grpc.Net.Client;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd.Http2;

/// <summary>
/// lb's own answers to gRPC requests come in gRPC's form (HTTP 200, trailers-only, grpc-status and grpc-message), so a
/// real gRPC client (Grpc.Net.Client) reports UNAVAILABLE or RESOURCE_EXHAUSTED instead of a protocol error.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class GrpcErrorTests
{
    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(b => b, b => b);
    private static readonly Method<byte[], byte[]> Echo = new(MethodType.Unary, "lb.test.Echo", "Say", Bytes, Bytes);

    private static string Config(string backend, string tenantExtra = "") => $$"""
        [[listeners]]
        name = "web"
        listen = "127.0.0.1:0"
        http2 = true

        [[tenants]]
        name = "acme"
        match = ["127.0.0.1"]
        pool = "p"
        {{tenantExtra}}

        [[pools]]
        name = "p"
        backends = [ { address = "{{backend}}" } ]
        """;

    private static GrpcChannel Channel(TestLb lb) => GrpcChannel.ForAddress($"http://{lb.EndPoint()}", new GrpcChannelOptions
    {
        HttpHandler = new SocketsHttpHandler { UseProxy = false },
    });

    private static RpcException Call(GrpcChannel channel, CancellationToken cancellationToken)
        => Assert.ThrowsAsync<RpcException>(async () => await channel.CreateCallInvoker().AsyncUnaryCall(Echo, null, new CallOptions(cancellationToken: cancellationToken), [1, 2, 3]))!;

    [Test]
    [CancelAfter(20_000)]
    public async Task DeadBackend_IsUnavailable_WithLbsCodeInTheMessage(CancellationToken cancellationToken)
    {
        using var dead = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        dead.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var address = dead.LocalEndPoint!.ToString()!;
        dead.Close();
        await using var lb = await TestLb.StartAsync(Config(address));
        using var channel = Channel(lb);

        var error = Call(channel, cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(error.StatusCode, Is.EqualTo(StatusCode.Unavailable));
            Assert.That(error.Status.Detail, Does.StartWith("backend_unreachable: "));
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task RateLimited_IsResourceExhausted_PlainHttp2RequestStill429(CancellationToken cancellationToken)
    {
        await using var backend = RecordingBackend.Start();
        await using var lb = await TestLb.StartAsync(Config(backend.Address, "rate_limit = { requests_per_second = 1, burst = 1 }"));
        using var channel = Channel(lb);
        using var plain = new HttpClient(new SocketsHttpHandler { UseProxy = false });

        // The bucket's one token goes to a plain request; the gRPC call then finds it empty.
        using var first = await plain.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"http://{lb.EndPoint()}/") { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact }, cancellationToken);
        var error = Call(channel, cancellationToken);
        using var refused = await plain.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"http://{lb.EndPoint()}/") { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact }, cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((int)first.StatusCode, Is.EqualTo(200));
            Assert.That(error.StatusCode, Is.EqualTo(StatusCode.ResourceExhausted));
            Assert.That(error.Status.Detail, Does.StartWith("rate_limited: "));
            Assert.That((int)refused.StatusCode, Is.EqualTo(429), "a request that is not gRPC keeps the HTTP answer");
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task GrpcTimeout_BoundsTheWaitForTheBackend_DeadlineExceeded_BackendNotBlamed(CancellationToken cancellationToken)
    {
        await using var backend = HoldingBackend.Start("slow", hold: true);
        await using var lb = await TestLb.StartAsync(Config(backend.Address));
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false });

        var request = new HttpRequestMessage(HttpMethod.Post, $"http://{lb.EndPoint()}/lb.test.Echo/Say")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent([0, 0, 0, 0, 0]),
        };
        request.Content.Headers.ContentType = new("application/grpc");
        request.Headers.Add("grpc-timeout", "200m");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        var started = System.Diagnostics.Stopwatch.StartNew();
        using var response = await client.SendAsync(request, cancellationToken);
        await response.Content.LoadIntoBufferAsync(cancellationToken);
        var elapsed = started.Elapsed;
        string Field(string name) => response.Headers.TryGetValues(name, out var v) ? v.Single() : response.TrailingHeaders.TryGetValues(name, out var t) ? t.Single() : "";

        using (Assert.EnterMultipleScope())
        {
            Assert.That((int)response.StatusCode, Is.EqualTo(200));
            Assert.That(Field("grpc-status"), Is.EqualTo("4"), "DEADLINE_EXCEEDED");
            Assert.That(Field("grpc-message"), Does.StartWith("deadline_exceeded: "));
            Assert.That(elapsed, Is.LessThan(TimeSpan.FromSeconds(10)), "well before timeouts.response_head (30 s)");
            Assert.That(backend.Heads.Single(), Does.Contain("grpc-timeout: 200m"), "the deadline travels on to the backend");
            Assert.That(lb.Snapshot.Pools["p"].Backends[0].ConsecutiveFailures, Is.Zero, "the client's short deadline is not held against the backend");
        }
    }
}
