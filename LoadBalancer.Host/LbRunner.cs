using System.Runtime.InteropServices;
using LoadBalancer.Core.Config;
using LoadBalancer.Core.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Host;

/// <summary>Builds and runs the lb host (Microsoft.Extensions.Hosting, systemd-aware) for a config file.</summary>
public static class LbRunner
{
    public static async Task<int> RunAsync(LbOptions options, CancellationToken cancellationToken)
    {
        var loaded = ConfigLoader.LoadFile(options.ConfigPath);
        if (!loaded.Success)
        {
            foreach (var error in loaded.Errors)
            {
                await Console.Error.WriteLineAsync(error.ToString()).ConfigureAwait(false);
            }

            return 1;
        }

        // The host's lifetime turns the first SIGTERM/SIGINT into a graceful stop (drain); these registrations only
        // count, so that a second signal (an impatient operator, a second Ctrl+C) exits at once, mid-drain.
        var signals = 0;
        Action<PosixSignalContext> onStopSignal = context =>
        {
            if (Interlocked.Increment(ref signals) >= 2)
            {
                Console.Error.WriteLine($"lb: second {context.Signal}: exiting without waiting for the drain");
                Environment.Exit(128 + (context.Signal == PosixSignal.SIGINT ? 2 : 15));
            }
        };
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, onStopSignal);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, onStopSignal);

        using var host = CreateHost(options, loaded.Snapshot!);
        try
        {
            await host.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (System.Net.Sockets.SocketException ex)
        {
            await Console.Error.WriteLineAsync($"{options.ConfigPath}: cannot listen: {ex.Message}").ConfigureAwait(false);
            return 1;
        }

        return 0;
    }

    /// <summary>The whole application as a host; tests start it in-process with a temp config.</summary>
    public static IHost CreateHost(string configPath, RuntimeSnapshot snapshot, bool demo, Action<ILoggingBuilder>? logging = null)
        => CreateHost(new LbOptions(Path.GetFullPath(configPath), demo), snapshot, logging);

    /// <inheritdoc cref="CreateHost(string, RuntimeSnapshot, bool, Action{ILoggingBuilder}?)"/>
    public static IHost CreateHost(LbOptions options, RuntimeSnapshot snapshot, Action<ILoggingBuilder>? logging = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            DisableDefaults = false,
            Args = [],
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Services.AddSystemd();
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);
        logging?.Invoke(builder.Logging);

        // The drain is bounded by [server] drain_timeout (up to 24h), not by the host's default 30 s stop timeout.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = Timeout.InfiniteTimeSpan);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(new SnapshotHolder(snapshot));
        builder.Services.AddSingleton(sp => new Core.Proxy.ProxyEngine(sp.GetRequiredService<SnapshotHolder>(), sp.GetRequiredService<ILoggerFactory>()));
        if (options.Demo)
        {
            builder.Services.AddHostedService<DemoBackendsService>();
        }

        builder.Services.AddSingleton<ISystemdNotifier>(sp => new SystemdNotifier());
        builder.Services.AddSingleton<ConfigReloader>();
        builder.Services.AddSingleton(sp => new Core.Metrics.LbMetrics(sp.GetRequiredService<SnapshotHolder>()));
        builder.Services.AddHostedService<TelemetryService>();

        // Hosted services stop in reverse order: reload triggers first, then the drain, then the admin endpoint, so
        // that /healthz answers 503 "draining" to upstream health checks for as long as the drain runs.
        builder.Services.AddSingleton<AdminService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<AdminService>());
        builder.Services.AddHostedService<LoadBalancerService>();
        builder.Services.AddHostedService<ConfigReloadService>();
        return builder.Build();
    }
}
