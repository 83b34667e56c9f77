using LoadBalancer.Core.Metrics;
using LoadBalancer.Core.Routing;
using Microsoft.Extensions.Hosting;

namespace LoadBalancer.Host;

/// <summary>
/// Owns the access-log writers' lifetime. Registered before <see cref="LoadBalancerService"/>, so it stops after the
/// engine has drained and the last requests' lines are flushed.
/// </summary>
internal sealed class TelemetryService(SnapshotHolder holder) : IHostedService
{
    private AccessLogLifecycle? _accessLog;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _accessLog = new AccessLogLifecycle(holder);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_accessLog is not null)
        {
            await _accessLog.DisposeAsync().ConfigureAwait(false);
        }
    }
}
