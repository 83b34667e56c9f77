using LoadBalancer.Core.Admin;
using LoadBalancer.Core.Dashboard;
using LoadBalancer.Core.Routing;
using Microsoft.Extensions.Hosting;

namespace LoadBalancer.Host;

/// <summary>
/// The live dashboard's server side: the sampler's one-second timer (so a page opened now already has 15 minutes of
/// history) and the config status, fed by every reload. <see cref="AdminService"/> routes the dashboard's paths here.
/// </summary>
internal sealed class DashboardService(SnapshotHolder snapshots, ConfigReloader reloader) : IHostedService, IDisposable
{
    private readonly ConfigStatus _config = new();
    private readonly DashboardSampler _sampler = new(snapshots, TimeSpan.FromSeconds(1));

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _config.Started(reloader.AppliedVersion);
        reloader.Reloaded += OnReloaded;
        return Task.CompletedTask;
    }

    /// <summary>The dashboard's answer, or null when the request is not one of its paths.</summary>
    public AdminResponse? TryHandle(AdminRequest request, string role)
        => DashboardEndpoints.TryHandle(request, _sampler, _config, role);

    private void OnReloaded(ReloadResult result)
    {
        var outcome = result.Outcome switch
        {
            ReloadOutcome.Applied => "applied",
            ReloadOutcome.Rejected => "rejected",
            _ => "unchanged",
        };
        _config.Record(new ConfigStatus.Reload(DateTimeOffset.UtcNow, outcome, result.Summary, result.Errors), reloader.AppliedVersion);
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        reloader.Reloaded -= OnReloaded;
        return Task.CompletedTask;
    }

    public void Dispose() => _sampler.Dispose();
}
