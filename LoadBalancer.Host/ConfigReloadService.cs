using System.Runtime.InteropServices;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;

namespace LoadBalancer.Host;

/// <summary>
/// Reload triggers: SIGHUP (<c>systemctl reload</c>) and changes of the config file (debounced, so an editor's several
/// writes make one reload; <c>--no-watch</c> turns it off). POST /reload on the admin endpoint calls the reloader
/// directly. Triggers coalesce in a one-slot channel; the reloader itself skips identical content.
/// </summary>
internal sealed class ConfigReloadService(LbOptions options, ConfigReloader reloader, LoadBalancer.Core.Proxy.ProxyEngine engine) : BackgroundService
{
    // Directories of the live snapshot's other files (certificates, keys, client CAs, access_keys_file, keys_file), watched
    // so that a renewed certificate or an edited keys file applies like an edited lb.toml; refreshed after every reload.
    private readonly Dictionary<string, FileSystemWatcher> _tlsWatchers = new(StringComparer.Ordinal);
    private HashSet<string> _tlsFiles = new(StringComparer.Ordinal);

    private readonly Channel<string> _triggers = Channel.CreateBounded<string>(new BoundedChannelOptions(1)
    {
        FullMode = BoundedChannelFullMode.DropWrite,
        SingleReader = true,
    });

    private PosixSignalRegistration? _sighup;
    private FileSystemWatcher? _watcher;

    /// <summary>
    /// Registers SIGHUP and starts watching before the host reports started: since .NET 10 ExecuteAsync runs wholly
    /// in the background, so setting up there would leave a window in which a SIGHUP kills the process (its default
    /// action) and a saved file goes unnoticed.
    /// </summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true;
            _triggers.Writer.TryWrite("SIGHUP");
        });
        _watcher = CreateWatcher();
        WatchTlsFiles();
        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _watcher?.Dispose();
        DisposeTlsWatchers();
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    public override void Dispose()
    {
        _watcher?.Dispose();
        DisposeTlsWatchers();
        _sighup?.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (await _triggers.Reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                var trigger = await _triggers.Reader.ReadAsync(stoppingToken).ConfigureAwait(false);
                if (trigger == "file")
                {
                    // Let the burst of writes from one save settle, then read the file once.
                    await Task.Delay(options.FileDebounce, stoppingToken).ConfigureAwait(false);
                    _triggers.Reader.TryRead(out _);
                }

                await reloader.ReloadAsync(trigger).ConfigureAwait(false);
                WatchTlsFiles();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Host stopping.
        }
    }

    private void WatchTlsFiles()
    {
        if (!options.WatchConfig)
        {
            return;
        }

        var files = new HashSet<string>(engine.Snapshots.Current.ReloadFiles().Select(Path.GetFullPath), StringComparer.Ordinal);
        Volatile.Write(ref _tlsFiles, files);
        foreach (var directory in files.Select(Path.GetDirectoryName).Distinct(StringComparer.Ordinal))
        {
            if (string.IsNullOrEmpty(directory) || _tlsWatchers.ContainsKey(directory) || !Directory.Exists(directory))
            {
                continue;
            }

            var watcher = new FileSystemWatcher(directory)
            {
                NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
            };
            FileSystemEventHandler onChange = (_, e) => OnTlsFileChanged(e.FullPath);
            watcher.Changed += onChange;
            watcher.Created += onChange;
            watcher.Renamed += (_, e) => OnTlsFileChanged(e.FullPath);
            watcher.EnableRaisingEvents = true;
            _tlsWatchers[directory] = watcher;
        }
    }

    private void OnTlsFileChanged(string path)
    {
        if (Volatile.Read(ref _tlsFiles).Contains(path))
        {
            _triggers.Writer.TryWrite("file");
        }
    }

    private void DisposeTlsWatchers()
    {
        foreach (var watcher in _tlsWatchers.Values)
        {
            watcher.Dispose();
        }

        _tlsWatchers.Clear();
    }

    private FileSystemWatcher? CreateWatcher()
    {
        var directory = Path.GetDirectoryName(options.ConfigPath);
        if (!options.WatchConfig || string.IsNullOrEmpty(directory) || !Directory.Exists(directory))
        {
            return null;
        }

        var watcher = new FileSystemWatcher(directory, Path.GetFileName(options.ConfigPath))
        {
            NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
        };
        FileSystemEventHandler onChange = (_, _) => _triggers.Writer.TryWrite("file");
        watcher.Changed += onChange;
        watcher.Created += onChange;
        watcher.Renamed += (_, _) => _triggers.Writer.TryWrite("file");
        watcher.EnableRaisingEvents = true;
        return watcher;
    }
}
