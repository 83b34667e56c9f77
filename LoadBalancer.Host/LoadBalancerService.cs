using System.Diagnostics;
using LoadBalancer.Core.Config;
using LoadBalancer.Core.Proxy;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Host;

/// <summary>
/// Starts the engine's listeners with the host and drains connections when the host stops (SIGTERM, Ctrl+C).
/// READY=1 is sent once the listeners are bound (true readiness), STOPPING=1 when draining starts; under systemd the
/// hosting lifetime may send READY=1 too, which is harmless.
/// </summary>
internal sealed class LoadBalancerService(ProxyEngine engine, ISystemdNotifier notifier, ILogger<LoadBalancerService> logger) : IHostedService
{
    private Task? _started;

    /// <summary>Binds the listeners once; <c>lb</c> calls it before the host starts, so a port in use stops it first.</summary>
    public Task StartEngineAsync() => _started ??= engine.StartAsync();

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await StartEngineAsync().ConfigureAwait(false);
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
        var timeout = engine.Snapshots.Current.DrainTimeout;
        var open = engine.ActiveConnections;
        var began = Stopwatch.GetTimestamp();
        var drain = engine.DrainAsync(timeout);

        // The engine cuts what is open at the timeout; counted here by the same clock, since it reports no total.
        var cut = 0;
        if (open > 0 && await Task.WhenAny(drain, Task.Delay(timeout, CancellationToken.None)).ConfigureAwait(false) != drain)
        {
            cut = engine.ActiveConnections;
        }

        await drain.ConfigureAwait(false);
        var elapsed = Stopwatch.GetElapsedTime(began);
        if (open == 0)
        {
            HostLog.DrainedIdle(logger, Elapsed(elapsed));
        }
        else
        {
            HostLog.Drained(logger, Elapsed(elapsed), Math.Max(0, open - cut), cut, ConfigSyntax.FormatDuration(timeout), open);
        }
    }

    private static string Elapsed(TimeSpan elapsed) => elapsed < TimeSpan.FromSeconds(1)
        ? $"{(int)elapsed.TotalMilliseconds}ms"
        : elapsed.TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) + "s";
}
