using System.Net;
using LoadBalancer.Core.Config;
using LoadBalancer.Core.Proxy;
using LoadBalancer.Host;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Tests.TestSupport;

/// <summary>
/// The whole lb application in-process (LbRunner.CreateHost: engine, reloader, file watcher, admin, drain), on a
/// temp lb.toml that the test can rewrite. Unlike <see cref="TestLb"/>, reloads and stops go through the real services.
/// </summary>
public sealed class LbTestHost : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly string _directory;
    private bool _stopped;

    private LbTestHost(IHost host, string directory, string configPath)
    {
        _host = host;
        _directory = directory;
        ConfigPath = configPath;
        Engine = host.Services.GetRequiredService<ProxyEngine>();
        Reloader = host.Services.GetRequiredService<ConfigReloader>();
    }

    public string ConfigPath { get; }

    public ProxyEngine Engine { get; }

    public ConfigReloader Reloader { get; }

    public IPEndPoint? AdminEndPoint => _host.Services.GetRequiredService<AdminService>().EndPoint;

    /// <param name="toml">The initial lb.toml.</param>
    /// <param name="watch">Whether the file watcher runs (off when a test must know which trigger reloaded).</param>
    /// <param name="debounce">The watcher's settle time; shorter than production so 50 reloads fit in a few seconds.</param>
    /// <param name="beforeLoad">Writes files lb.toml refers to (keys files, certificates) into its directory first.</param>
    public static async Task<LbTestHost> StartAsync(string toml, bool watch = false, TimeSpan? debounce = null, Action<string>? beforeLoad = null)
    {
        var directory = Directory.CreateTempSubdirectory("lb-test-").FullName;
        beforeLoad?.Invoke(directory);
        var path = Path.Combine(directory, "lb.toml");
        await File.WriteAllTextAsync(path, toml);
        var loaded = ConfigLoader.LoadFile(path);
        Assert.That(loaded.Success, Is.True, () => string.Join("\n", loaded.Errors));
        var options = new LbOptions(path, Demo: false, WatchConfig: watch) { FileDebounce = debounce ?? TimeSpan.FromMilliseconds(300) };

        // Warnings only: the reload tests log hundreds of lines otherwise, and errors show up in the assertions.
        var host = LbRunner.CreateHost(options, loaded.Snapshot!, logging => logging.SetMinimumLevel(LogLevel.Warning));
        await host.StartAsync();
        return new LbTestHost(host, directory, path);
    }

    public IPEndPoint EndPoint(string listener = "web") => Engine.GetListenerEndPoint(listener) ?? throw new InvalidOperationException($"no listener {listener}");

    /// <summary>Replaces lb.toml in one rename, as careful editors and config tools do, so a reader never sees half a file.</summary>
    public async Task WriteConfigAsync(string toml)
    {
        var temp = ConfigPath + ".tmp";
        await File.WriteAllTextAsync(temp, toml);
        File.Move(temp, ConfigPath, overwrite: true);
    }

    /// <summary>Stops the host as SIGTERM would: reload triggers off, drain, admin off.</summary>
    public async Task StopAsync()
    {
        _stopped = true;
        await _host.StopAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopped)
        {
            await StopAsync();
        }

        _host.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
