using System.Net;
using LoadBalancer.Core.Demo;
using LoadBalancer.Core.Routing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Host;

/// <summary>
/// <c>--demo</c>: starts a whoami backend on every loopback backend address of the config, named after the tenants its
/// pool serves and its address, so that a newcomer can curl through lb at once.
/// </summary>
internal sealed partial class DemoBackendsService(SnapshotHolder holder, ILogger<DemoBackendsService> logger) : IHostedService
{
    private readonly List<WhoamiServer> _servers = [];

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var snapshot = holder.Current;
        var started = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pool in snapshot.Pools.Values)
        {
            var tenants = string.Join(",", snapshot.Tenants.Values.Where(t => t.Pool == pool || t.Routes.Routes.Any(r => r.Pool == pool)).Select(t => t.Name).Order());
            foreach (var backend in pool.Backends)
            {
                var endPoint = backend.Config.EndPoint;
                if (!IPAddress.IsLoopback(endPoint.Address) || !started.Add(endPoint.ToString()))
                {
                    continue;
                }

                try
                {
                    _servers.Add(WhoamiServer.Start(endPoint, $"tenant={tenants} backend={backend.Config.Address}"));
                    LogDemoBackend(logger, endPoint.ToString(), tenants);
                }
                catch (System.Net.Sockets.SocketException ex)
                {
                    LogDemoBackendFailed(logger, endPoint.ToString(), ex.Message);
                }
            }
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync().ConfigureAwait(false);
        }
    }

    [LoggerMessage(EventId = 9000, Level = LogLevel.Information, Message = "Demo backend for {Tenants} listening on {EndPoint}")]
    private static partial void LogDemoBackend(ILogger logger, string endPoint, string tenants);

    [LoggerMessage(EventId = 9001, Level = LogLevel.Warning, Message = "Demo backend on {EndPoint} not started: {Reason}")]
    private static partial void LogDemoBackendFailed(ILogger logger, string endPoint, string reason);
}
