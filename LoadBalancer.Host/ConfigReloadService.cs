using System.Runtime.InteropServices;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;

namespace LoadBalancer.Host;

/// <summary>
/// Reload triggers: SIGHUP (<c>systemctl reload</c>) and changes of the config file (debounced, so an editor's several
/// writes make one reload; <c>--no-watch</c> turns it off). POST /reload on the admin endpoint calls the reloader
/// directly. Triggers coalesce in a one-slot channel; the reloader itself skips identical content.
/// </summary>
internal sealed class ConfigReloadService(LbOptions options, ConfigReloader reloader) : BackgroundService
{
    private readonly Channel<string> _triggers = Channel.CreateBounded<string>(new BoundedChannelOptions(1)
    {
        FullMode = BoundedChannelFullMode.DropWrite,
        SingleReader = true,
    });

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true;
            _triggers.Writer.TryWrite("SIGHUP");
        });
        using var watcher = CreateWatcher();
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
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Host stopping.
        }
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
