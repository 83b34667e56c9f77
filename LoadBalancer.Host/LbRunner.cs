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
    public static async Task<int> RunAsync(string configPath, bool demo, CancellationToken cancellationToken)
    {
        var loaded = ConfigLoader.LoadFile(configPath);
        if (!loaded.Success)
        {
            foreach (var error in loaded.Errors)
            {
                await Console.Error.WriteLineAsync(error.ToString()).ConfigureAwait(false);
            }

            return 1;
        }

        using var host = CreateHost(configPath, loaded.Snapshot!, demo);
        try
        {
            await host.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (System.Net.Sockets.SocketException ex)
        {
            await Console.Error.WriteLineAsync($"{configPath}: cannot listen: {ex.Message}").ConfigureAwait(false);
            return 1;
        }

        return 0;
    }

    /// <summary>The whole application as a host; tests start it in-process with a temp config.</summary>
    public static IHost CreateHost(string configPath, RuntimeSnapshot snapshot, bool demo, Action<ILoggingBuilder>? logging = null)
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
        builder.Services.AddSingleton(new LbOptions(Path.GetFullPath(configPath), demo));
        builder.Services.AddSingleton(new SnapshotHolder(snapshot));
        builder.Services.AddSingleton(sp => new Core.Proxy.ProxyEngine(sp.GetRequiredService<SnapshotHolder>(), sp.GetRequiredService<ILoggerFactory>()));
        if (demo)
        {
            builder.Services.AddHostedService<DemoBackendsService>();
        }

        builder.Services.AddSingleton<ISystemdNotifier>(sp => new SystemdNotifier());
        builder.Services.AddSingleton<ConfigReloader>();
        builder.Services.AddHostedService<LoadBalancerService>();
        builder.Services.AddSingleton<AdminService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<AdminService>());
        builder.Services.AddHostedService<ConfigReloadService>();
        return builder.Build();
    }
}
