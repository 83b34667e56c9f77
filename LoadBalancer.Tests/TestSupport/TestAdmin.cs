using System.Net;
using LoadBalancer.Core.Admin;
using LoadBalancer.Core.Metrics;
using Microsoft.Extensions.Logging.Abstractions;

namespace LoadBalancer.Tests.TestSupport;

/// <summary>The admin endpoints (metrics, tenants, usage) on lb's own AdminServer, for a <see cref="TestLb"/>.</summary>
public sealed class TestAdmin : IAsyncDisposable
{
    private readonly AdminServer _server;

    private TestAdmin(TestLb lb, string? token)
    {
        Metrics = new LbMetrics(lb.Engine.Snapshots);
        _server = AdminServer.Start(
            new IPEndPoint(IPAddress.Loopback, 0),
            (request, _) => ValueTask.FromResult(AdminEndpoints.TryHandle(request, Metrics) ?? AdminResponse.Text(404, "not found\n")),
            token,
            NullLogger.Instance);
        Client = new HttpClient { BaseAddress = new Uri($"http://{_server.EndPoint}/"), Timeout = TimeSpan.FromSeconds(10) };
    }

    public LbMetrics Metrics { get; }

    public HttpClient Client { get; }

    public static TestAdmin Start(TestLb lb, string? token = null) => new(lb, token);

    public Task<string> GetAsync(string path, CancellationToken cancellationToken) => Client.GetStringAsync(path, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _server.DisposeAsync();
        Metrics.Dispose();
    }
}
