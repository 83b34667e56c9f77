using System.Collections.Concurrent;
using System.Net;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Tests.TestSupport;

/// <summary>
/// A real HTTP/2 backend for h2 pools: Kestrel on a loopback port with HTTP/2 only (prior knowledge, no TLS), plain
/// endpoints and a real gRPC service (Grpc.AspNetCore.Server, test project only; no code generation: byte[] messages).
/// Records which connection served each request, to check multiplexing and SETTINGS_MAX_CONCURRENT_STREAMS.
/// </summary>
public sealed class KestrelH2Backend : IAsyncDisposable
{
    public static readonly Marshaller<byte[]> Bytes = Marshallers.Create(b => b, b => b);
    public static readonly Method<byte[], byte[]> Say = new(MethodType.Unary, "lb.test.Echo", "Say", Bytes, Bytes);
    public static readonly Method<byte[], byte[]> Count = new(MethodType.ServerStreaming, "lb.test.Echo", "Count", Bytes, Bytes);
    public static readonly Method<byte[], byte[]> Fail = new(MethodType.Unary, "lb.test.Echo", "Fail", Bytes, Bytes);
    public static readonly Method<byte[], byte[]> Gather = new(MethodType.ClientStreaming, "lb.test.Echo", "Gather", Bytes, Bytes);
    public static readonly Method<byte[], byte[]> Chat = new(MethodType.DuplexStreaming, "lb.test.Echo", "Chat", Bytes, Bytes);

    private readonly WebApplication _app;

    private KestrelH2Backend(WebApplication app, int port)
    {
        _app = app;
        Address = $"127.0.0.1:{port}";
    }

    public string Address { get; }

    /// <summary>Kestrel's connection id of every request, in arrival order.</summary>
    public ConcurrentQueue<string> Connections { get; } = new();

    /// <summary>The request protocol Kestrel saw ("HTTP/2").</summary>
    public ConcurrentQueue<string> Protocols { get; } = new();

    /// <summary>The ALPN protocol of each request's TLS connection (TLS backends only).</summary>
    public ConcurrentQueue<string> Alpn { get; } = new();

    /// <summary>Released by tests that hold /slow requests open.</summary>
    public SemaphoreSlim Gate { get; } = new(0);

    /// <summary>
    /// With <paramref name="certificate"/> (its private key included), TLS with HTTP/2 only: a client must offer ALPN
    /// h2, and each request's negotiated protocol is recorded in <see cref="Alpn"/>.
    /// </summary>
    public static async Task<KestrelH2Backend> StartAsync(int maxStreamsPerConnection = 100, System.Security.Cryptography.X509Certificates.X509Certificate2? certificate = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.Http2.MaxStreamsPerConnection = maxStreamsPerConnection;
            k.Listen(IPAddress.Loopback, 0, o =>
            {
                o.Protocols = HttpProtocols.Http2;
                if (certificate is not null)
                {
                    o.UseHttps(certificate);
                }
            });
        });
        builder.Services.AddGrpc();
        builder.Services.AddSingleton<EchoService>();
        var app = builder.Build();
        KestrelH2Backend? self = null;
        app.Use(async (context, next) =>
        {
            self!.Connections.Enqueue(context.Connection.Id);
            self.Protocols.Enqueue(context.Request.Protocol);
            if (context.Features.Get<Microsoft.AspNetCore.Server.Kestrel.Core.Features.ITlsApplicationProtocolFeature>() is { } tls)
            {
                self.Alpn.Enqueue(System.Text.Encoding.ASCII.GetString(tls.ApplicationProtocol.Span));
            }
            await next(context);
        });
        app.MapGet("/hello", (HttpContext c) => Results.Text($"hello over {c.Request.Protocol} to {c.Request.Host}"));
        app.MapGet("/slow", async () =>
        {
            await self!.Gate.WaitAsync(TimeSpan.FromSeconds(20));
            return Results.Text("slow done");
        });
        app.MapGet("/big", async (HttpContext c) =>
        {
            var size = int.Parse(c.Request.Query["size"]!, System.Globalization.CultureInfo.InvariantCulture);
            var chunk = new byte[16 * 1024];
            for (var i = 0; i < chunk.Length; i++)
            {
                chunk[i] = (byte)(i * 7);
            }

            for (var sent = 0; sent < size; sent += chunk.Length)
            {
                await c.Response.Body.WriteAsync(chunk.AsMemory(0, Math.Min(chunk.Length, size - sent)));
            }
        });
        app.MapPost("/echo", async (HttpContext c) =>
        {
            c.Response.ContentType = "application/octet-stream";
            await c.Request.Body.CopyToAsync(c.Response.Body);
        });
        app.MapPost("/digest", async (HttpContext c) =>
        {
            using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
            var buffer = new byte[64 * 1024];
            long total = 0;
            int read;
            while ((read = await c.Request.Body.ReadAsync(buffer)) > 0)
            {
                sha.AppendData(buffer, 0, read);
                total += read;
            }

            await c.Response.WriteAsync($"{total}:{Convert.ToHexString(sha.GetHashAndReset())}");
        });
        app.MapPost("/trailers", async (HttpContext c) =>
        {
            using var body = new MemoryStream();
            await c.Request.Body.CopyToAsync(body);
            var sum = c.Request.SupportsTrailers() && c.Request.CheckTrailersAvailable() ? c.Request.GetTrailer("x-sum").ToString() : "";
            await c.Response.WriteAsync($"{body.Length} bytes, x-sum={sum}");
            c.Response.AppendTrailer("x-done", "yes");
        });
        app.MapGrpcService<EchoService>();
        await app.StartAsync();
        var address = app.Urls.Single();
        self = new KestrelH2Backend(app, new Uri(address).Port);
        return self;
    }

    public async ValueTask DisposeAsync()
    {
        Gate.Release(100);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }
}

// Grpc.AspNetCore binds each method by its Method's name (Say, Count, Fail) to an override of a virtual method of the
// type named in BindServiceMethod (what generated code does with a base class): hence the base, and no Async suffix.
[BindServiceMethod(typeof(EchoServiceBase), nameof(BindService))]
public abstract class EchoServiceBase
{
    public static void BindService(ServiceBinderBase binder, EchoServiceBase? service)
    {
        binder.AddMethod(KestrelH2Backend.Say, service is null ? null : service.Say);
        binder.AddMethod(KestrelH2Backend.Count, service is null ? null : service.Count);
        binder.AddMethod(KestrelH2Backend.Fail, service is null ? null : service.Fail);
        binder.AddMethod(KestrelH2Backend.Gather, service is null ? null : service.Gather);
        binder.AddMethod(KestrelH2Backend.Chat, service is null ? null : service.Chat);
    }

    public abstract Task<byte[]> Say(byte[] request, ServerCallContext context);

    public abstract Task Count(byte[] request, IServerStreamWriter<byte[]> writer, ServerCallContext context);

    public abstract Task<byte[]> Fail(byte[] request, ServerCallContext context);

    public abstract Task<byte[]> Gather(IAsyncStreamReader<byte[]> requests, ServerCallContext context);

    public abstract Task Chat(IAsyncStreamReader<byte[]> requests, IServerStreamWriter<byte[]> responses, ServerCallContext context);
}

/// <summary>The gRPC service: Say echoes (with a trailer), Count streams N messages, Fail answers NOT_FOUND with a message, Gather and Chat stream the other way and both ways.</summary>
public sealed class EchoService : EchoServiceBase
{
    public override Task<byte[]> Say(byte[] request, ServerCallContext context)
    {
        context.ResponseTrailers.Add("x-echo-length", request.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return Task.FromResult(request);
    }

    public override async Task Count(byte[] request, IServerStreamWriter<byte[]> writer, ServerCallContext context)
    {
        for (var i = 0; i < request[0]; i++)
        {
            await writer.WriteAsync([(byte)i, .. new byte[100]]);
        }
    }

    public override Task<byte[]> Fail(byte[] request, ServerCallContext context)
        => throw new RpcException(new Status(StatusCode.NotFound, "no such thing"));

    /// <summary>Client streaming: every message's bytes, concatenated in order; trailer x-gathered = the message count.</summary>
    public override async Task<byte[]> Gather(IAsyncStreamReader<byte[]> requests, ServerCallContext context)
    {
        var all = new List<byte>();
        var count = 0;
        while (await requests.MoveNext(context.CancellationToken))
        {
            all.AddRange(requests.Current);
            count++;
        }

        context.ResponseTrailers.Add("x-gathered", count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return [.. all];
    }

    /// <summary>Bidirectional: each message answered at once, reversed; trailer x-chatted = the message count.</summary>
    public override async Task Chat(IAsyncStreamReader<byte[]> requests, IServerStreamWriter<byte[]> responses, ServerCallContext context)
    {
        var count = 0;
        while (await requests.MoveNext(context.CancellationToken))
        {
            await responses.WriteAsync([.. requests.Current.Reverse()]);
            count++;
        }

        context.ResponseTrailers.Add("x-chatted", count.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}
