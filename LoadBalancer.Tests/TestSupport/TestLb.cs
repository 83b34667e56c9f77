using System.Net;
using LoadBalancer.Core.Config;
using LoadBalancer.Core.Proxy;
using LoadBalancer.Core.Routing;

namespace LoadBalancer.Tests.TestSupport;

/// <summary>lb's engine started in-process from a TOML text whose listeners bind 127.0.0.1:0.</summary>
public sealed class TestLb : IAsyncDisposable
{
    private TestLb(ProxyEngine engine) => Engine = engine;

    public ProxyEngine Engine { get; }

    public RuntimeSnapshot Snapshot => Engine.Snapshots.Current;

    public static async Task<TestLb> StartAsync(string toml)
    {
        var loaded = ConfigLoader.LoadText(toml, "test.toml");
        Assert.That(loaded.Success, Is.True, () => string.Join("\n", loaded.Errors));
        var engine = new ProxyEngine(new SnapshotHolder(loaded.Snapshot!));
        await engine.StartAsync();
        return new TestLb(engine);
    }

    public IPEndPoint EndPoint(string listener = "web") => Engine.GetListenerEndPoint(listener) ?? throw new InvalidOperationException($"no listener {listener}");

    public HttpClient CreateClient(string listener = "web", int maxConnections = 16)
        => new(new SocketsHttpHandler { MaxConnectionsPerServer = maxConnections, UseProxy = false, AllowAutoRedirect = false })
        {
            BaseAddress = new Uri($"http://{EndPoint(listener)}/"),
            Timeout = TimeSpan.FromSeconds(30),
        };

    public Task<RawHttpConnection> ConnectAsync(CancellationToken cancellationToken, string listener = "web")
        => RawHttpConnection.ConnectAsync(EndPoint(listener), cancellationToken);

    public async ValueTask DisposeAsync() => await Engine.DisposeAsync();
}
