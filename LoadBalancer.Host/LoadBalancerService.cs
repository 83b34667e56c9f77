using LoadBalancer.Core.Proxy;
using Microsoft.Extensions.Hosting;

namespace LoadBalancer.Host;

/// <summary>Starts the engine's listeners with the host and drains connections when the host stops (SIGTERM, Ctrl+C).</summary>
internal sealed class LoadBalancerService(ProxyEngine engine) : IHostedService
{
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(30);

    public Task StartAsync(CancellationToken cancellationToken) => engine.StartAsync();

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await engine.DrainAsync(DrainTimeout).ConfigureAwait(false);
    }
}
