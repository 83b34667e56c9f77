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
        // Loaded in a method of its own: a local of this async method would be hoisted into its state machine and keep
        // the first snapshot (at 10,000 tenants, tens of MB) alive for as long as lb runs, whatever reloads replaced it.
        if (Prepare(options) is not { } prepared)
        {
            return 1;
        }

        var (host, summary) = prepared;

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

        try
        {
            // Bind every socket before the host starts, so that a port in use is the first and only thing printed:
            // positioned in lb.toml, with no stack trace, no admin line and no drain before it.
            if (await StartupBinder.BindAsync(host.Services, options.ConfigPath).ConfigureAwait(false) is { } error)
            {
                await Console.Error.WriteLineAsync(error).ConfigureAwait(false);
                return 1;
            }

            try
            {
                await host.StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (System.Net.Sockets.SocketException ex)
            {
                // Only what binds after the engine (the --demo backends) can get here.
                await Console.Error.WriteLineAsync($"{options.ConfigPath}: cannot listen: {ex.Message}").ConfigureAwait(false);
                return 1;
            }

            HostLog.Started(host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("LoadBalancer.Host"), Environment.ProcessId, summary);
            await host.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await ((IAsyncDisposable)host).DisposeAsync().ConfigureAwait(false);
        }

        return 0;
    }

    /// <summary>The config loaded and the host built on it, with the startup summary; null (errors printed) when the config is invalid.</summary>
    private static (IHost Host, string Summary)? Prepare(LbOptions options)
    {
        var loaded = ConfigLoader.LoadFile(options.ConfigPath);
        if (!loaded.Success)
        {
            foreach (var error in loaded.Errors)
            {
                Console.Error.WriteLine(error.ToString());
            }

            return null;
        }

        foreach (var warning in loaded.Warnings)
        {
            Console.Error.WriteLine($"warning: {warning}");
        }

        var prepared = (CreateHost(options, loaded.Snapshot!), loaded.Summary);

        // Loading a big file leaves several times the snapshot's size as garbage (the parse tree, the DTOs, the
        // compiler's lists): collected and given back to the OS here, before lb serves, where a pause costs nothing.
        // With 10,000 tenants RSS at ready was ~200 MB for a ~35 MB heap without it (issue 20).
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        return prepared;
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
        ConfigureLogging(builder.Logging, options);
        logging?.Invoke(builder.Logging);

        // The drain is bounded by [server] drain_timeout (up to 24h), not by the host's default 30 s stop timeout.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = Timeout.InfiniteTimeSpan);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(new SnapshotHolder(snapshot));
        // LB_SOCKET_ENGINE is read here, once: the engine is chosen at startup and passed in. The container disposes it
        // after the proxy engine that uses it (reverse order of creation), which stops its loop threads.
        builder.Services.AddSingleton(_ => Core.Engine.SocketEngine.FromEnvironment());
        builder.Services.AddSingleton(sp => new Core.Proxy.ProxyEngine(sp.GetRequiredService<SnapshotHolder>(), sp.GetRequiredService<Core.Engine.SocketEngine>(), sp.GetRequiredService<ILoggerFactory>()));
        if (options.Demo)
        {
            builder.Services.AddHostedService<DemoBackendsService>();
        }

        builder.Services.AddSingleton<ISystemdNotifier>(sp => new SystemdNotifier());
        builder.Services.AddSingleton<ConfigReloader>();
        builder.Services.AddSingleton(sp => new Core.Metrics.LbMetrics(sp.GetRequiredService<SnapshotHolder>()));
        builder.Services.AddHostedService<TelemetryService>();
        builder.Services.AddSingleton<UsageLedgerService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<UsageLedgerService>());
        builder.Services.AddSingleton(sp => new Core.Cluster.ClusterSync(sp.GetRequiredService<SnapshotHolder>(), sp.GetRequiredService<ILoggerFactory>().CreateLogger("LoadBalancer.Cluster")));
        builder.Services.AddHostedService<ClusterService>();

        // Hosted services stop in reverse order: reload triggers first, then the drain, then the admin endpoint, so
        // that /healthz answers 503 "draining" to upstream health checks for as long as the drain runs.
        builder.Services.AddSingleton<DashboardService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DashboardService>());
        builder.Services.AddSingleton<AdminService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<AdminService>());
        builder.Services.AddSingleton<LoadBalancerService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<LoadBalancerService>());
        builder.Services.AddHostedService<ConfigReloadService>();
        return builder.Build();
    }

    /// <summary>
    /// The console formatter of <c>--log-format</c>, all Microsoft.Extensions.Logging's own: SimpleConsole on one line
    /// per entry (with a UTC timestamp), JsonConsole (one object per line), or the systemd journal format, which
    /// AddSystemd picks under systemd for <see cref="LogFormat.Auto"/>. The hosting lifetime's status lines
    /// (content root, environment, "Application started") are left out: lb logs its own startup line.
    /// </summary>
    private static void ConfigureLogging(ILoggingBuilder logging, LbOptions options)
    {
        var format = options.LogFormat == LogFormat.Auto
            ? (SystemdHelpers.IsSystemdService() ? LogFormat.Systemd : LogFormat.Simple)
            : options.LogFormat;
        switch (format)
        {
            case LogFormat.Json:
                logging.AddJsonConsole(o =>
                {
                    o.UseUtcTimestamp = true;
                    o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                    o.JsonWriterOptions = new System.Text.Json.JsonWriterOptions { Indented = false };
                });
                break;
            case LogFormat.Systemd:
                logging.AddSystemdConsole();
                break;
            default:
                logging.AddSimpleConsole(o =>
                {
                    o.SingleLine = true;
                    o.UseUtcTimestamp = true;
                    o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                });
                break;
        }

        logging.SetMinimumLevel(options.LogLevel);
        logging.AddFilter("Microsoft", LogLevel.Warning);
    }
}
