using LoadBalancer.Core.Proxy;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;

namespace LoadBalancer.Host;

/// <summary>
/// Starts the engine's listeners with the host and drains connections when the host stops (SIGTERM, Ctrl+C).
/// READY=1 is sent once the listeners are bound (true readiness), STOPPING=1 when draining starts; under systemd the
/// hosting lifetime may send READY=1 too, which is harmless.
/// </summary>
internal sealed class LoadBalancerService(ProxyEngine engine, ISystemdNotifier notifier) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await engine.StartAsync().ConfigureAwait(false);
        if (notifier.IsEnabled)
        {
            notifier.Notify(ServiceState.Ready);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (notifier.IsEnabled)
        {
            notifier.Notify(ServiceState.Stopping);
        }

        // Read at stop time, so the timeout of the config live now applies (a reload may have changed it).
        await engine.DrainAsync(engine.Snapshots.Current.DrainTimeout).ConfigureAwait(false);
    }
}
