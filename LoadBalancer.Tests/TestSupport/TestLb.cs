using System.Net;
using LoadBalancer.Core.Config;
using LoadBalancer.Core.Engine;
using LoadBalancer.Core.Metrics;
using LoadBalancer.Core.Proxy;
using LoadBalancer.Core.Routing;

namespace LoadBalancer.Tests.TestSupport;

/// <summary>lb's engine started in-process from a TOML text whose listeners bind 127.0.0.1:0.</summary>
public sealed class TestLb : IAsyncDisposable
{
    private readonly AccessLogLifecycle _accessLog;

    private TestLb(ProxyEngine engine)
    {
        Engine = engine;
        _accessLog = new AccessLogLifecycle(engine.Snapshots);
    }

    public ProxyEngine Engine { get; }

    public RuntimeSnapshot Snapshot => Engine.Snapshots.Current;

    /// <param name="path">Names the config file: relative paths in it (access_keys_file, access_log) resolve from its directory.</param>
    /// <param name="loops">
    /// Epoll loops (0: one per CPU). Idle backend connections are kept per loop, and each client connection lands on
    /// the loop the kernel's SO_REUSEPORT hash picks; a test that expects a second client connection to reuse the
    /// first one's backend connection runs on one loop.
    /// </param>
    public static async Task<TestLb> StartAsync(string toml, string path = "test.toml", int loops = 0)
    {
        var loaded = ConfigLoader.LoadText(toml, path);
        Assert.That(loaded.Success, Is.True, () => string.Join("\n", loaded.Errors));
        var engine = new ProxyEngine(new SnapshotHolder(loaded.Snapshot!), SocketEngine.Create(SocketEngine.KindFromEnvironment(), loops));
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

    /// <summary>Drains the engine, then flushes and closes the access log.</summary>
    public async ValueTask DisposeAsync()
    {
        await Engine.DisposeAsync();
        Engine.Sockets.Dispose();
        await _accessLog.DisposeAsync();
    }
}
