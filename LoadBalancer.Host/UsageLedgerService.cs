using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Usage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Host;

/// <summary>
/// Owns the usage ledger (<c>[usage] path</c>, read at start) for the host's lifetime. Registered before
/// <see cref="LoadBalancerService"/> and <see cref="AdminService"/>, so it stops after the drain and after the admin
/// endpoint: the last requests are flushed to the database before lb exits 0.
/// </summary>
internal sealed class UsageLedgerService(SnapshotHolder holder, ILoggerFactory loggers) : IHostedService
{
    /// <summary>Null without <c>[usage]</c>.</summary>
    public UsageLedger? Ledger { get; private set; }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (holder.Current.Usage is { } settings)
        {
            Ledger = new UsageLedger(settings, holder, loggers.CreateLogger("LoadBalancer.Usage"));
            Ledger.Start();
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Ledger is not null)
        {
            await Ledger.DisposeAsync().ConfigureAwait(false);
        }
    }
}
