using LoadBalancer.Core.Cluster;
using Microsoft.Extensions.Hosting;

namespace LoadBalancer.Host;

/// <summary>
/// Runs the <see cref="ClusterSync"/> task for the host's lifetime (it idles without <c>[cluster] redis</c>).
/// Registered before <see cref="LoadBalancerService"/>, so it stops after the drain: requests still being admitted
/// during the drain spend cluster tokens as usual, then the instance leaves the count.
/// </summary>
internal sealed class ClusterService(ClusterSync sync) : IHostedService
{
    private readonly CancellationTokenSource _stop = new();
    private Task? _run;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _run = sync.RunAsync(_stop.Token);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_run is not null)
        {
            await _run.ConfigureAwait(false);
        }

        _stop.Dispose();
    }
}
