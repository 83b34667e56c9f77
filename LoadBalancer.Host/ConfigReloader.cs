using System.Security.Cryptography;
using System.Text;
using LoadBalancer.Core.Config;
using LoadBalancer.Core.Proxy;
using LoadBalancer.Core.Routing;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Host;

/// <summary>
/// Validates, compiles and applies a new lb.toml as one unit. A config with any error (or a listener that cannot bind)
/// is rejected whole and the running snapshot keeps serving. Reloads are serialized; identical content is a no-op.
/// </summary>
public sealed partial class ConfigReloader
{
    private readonly LbOptions _options;
    private readonly ProxyEngine _engine;
    private readonly ILogger<ConfigReloader> _logger;
    private readonly ISystemdNotifier? _notifier;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private byte[] _appliedHash = [];

    // Over the other files (certificates, keys, client CAs, access_keys_file, keys_file) the applied snapshot was loaded
    // from: a changed certificate or keys file applies on the next trigger even when lb.toml did not change.
    private byte[] _appliedFilesHash = [];
    private long _applied;
    private long _rejected;
    private int _collectScheduled;

    /// <summary>Tenants plus pools of the replaced snapshot from which a reload asks for a background collection.</summary>
    private const int CollectAfterEntities = 1000;

    private static readonly TimeSpan CollectDelay = TimeSpan.FromMilliseconds(200);

    public ConfigReloader(LbOptions options, ProxyEngine engine, ILogger<ConfigReloader> logger, ISystemdNotifier? notifier = null)
    {
        _options = options;
        _engine = engine;
        _logger = logger;
        _notifier = notifier;
        if (File.Exists(options.ConfigPath))
        {
            _appliedHash = SHA256.HashData(File.ReadAllBytes(options.ConfigPath));
        }

        _appliedFilesHash = HashFiles(engine.Snapshots.Current.ReloadFiles());
    }

    public long AppliedCount => Interlocked.Read(ref _applied);

    /// <summary>The applied lb.toml's SHA-256 in lower-case hex (the dashboard's config version).</summary>
    public string AppliedVersion => Convert.ToHexStringLower(Volatile.Read(ref _appliedHash));

    public long RejectedCount => Interlocked.Read(ref _rejected);

    /// <summary>Raised after every reload attempt, applied or not (tests wait on it instead of sleeping).</summary>
    public event Action<ReloadResult>? Reloaded;

    public async Task<ReloadResult> ReloadAsync(string trigger)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        ReloadResult result;
        try
        {
            NotifySystemd($"RELOADING=1\nMONOTONIC_USEC={MonotonicMicroseconds()}");
            // On the thread pool, never on an epoll loop thread (POST /reload arrives on one): reading, hashing, parsing
            // and compiling 10,000 tenants holds a CPU for a while, and the loops must go on serving meanwhile (issue 20).
            var entities = _engine.Snapshots.Current.Tenants.Count + _engine.Snapshots.Current.Pools.Count;
            result = await Task.Run(() => ReloadCoreAsync(trigger)).ConfigureAwait(false);
            NotifySystemd("READY=1");
            if (result.Outcome == ReloadOutcome.Applied)
            {
                CollectReplacedSnapshot(entities);
            }
        }
        finally
        {
            _gate.Release();
        }

        Reloaded?.Invoke(result);
        return result;
    }

    /// <summary>
    /// The replaced snapshot (~30 MB at 10,000 tenants) and what loading the new one promoted lie in gen2, which the
    /// runtime collects only once gen2's budget is spent: several reloads later, with RSS at ~3x steady meanwhile
    /// (issue 20). A background collection shortly after the reload, once the reload's own frames are gone, gives the
    /// space to the next one. Never a blocking one: that would stop the loops for as long as marking the heap takes.
    /// Small configs leave little garbage, which the runtime's own budgets handle.
    /// </summary>
    private void CollectReplacedSnapshot(int entities)
    {
        if (entities < CollectAfterEntities || System.Runtime.GCSettings.LatencyMode == System.Runtime.GCLatencyMode.Batch
            || Interlocked.Exchange(ref _collectScheduled, 1) == 1)
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            await Task.Delay(CollectDelay).ConfigureAwait(false);
            Volatile.Write(ref _collectScheduled, 0);
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: false, compacting: false);
        });
    }

    private async Task<ReloadResult> ReloadCoreAsync(string trigger)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        byte[] bytes;
        try
        {
            bytes = await File.ReadAllBytesAsync(_options.ConfigPath).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            return Reject([$"{_options.ConfigPath}:1:1: cannot read: {ex.Message}"], trigger);
        }

        var hash = SHA256.HashData(bytes);
        if (hash.AsSpan().SequenceEqual(_appliedHash) && HashFiles(_engine.Snapshots.Current.ReloadFiles()).AsSpan().SequenceEqual(_appliedFilesHash))
        {
            LogUnchanged(_logger, trigger);
            return new ReloadResult(ReloadOutcome.Unchanged, [], "unchanged");
        }

        var previous = _engine.Snapshots.Current;
        var read = System.Diagnostics.Stopwatch.GetTimestamp();
        var loaded = ConfigLoader.LoadText(Encoding.UTF8.GetString(bytes), _options.ConfigPath, previous);
        var compiled = System.Diagnostics.Stopwatch.GetTimestamp();
        if (!loaded.Success)
        {
            return Reject(loaded.Errors.Select(e => e.ToString()).ToList(), trigger);
        }

        try
        {
            if (!await _engine.ApplyAsync(loaded.Snapshot!).ConfigureAwait(false))
            {
                loaded.Snapshot!.RevertReplacedBackendConfigs();
                return Reject([$"{_options.ConfigPath}:1:1: lb is stopping (draining) and takes no new configuration"], trigger);
            }
        }
        catch (System.Net.Sockets.SocketException ex)
        {
            loaded.Snapshot!.RevertReplacedBackendConfigs();

            // Listeners kept with the same address are bound by this lb: only new or moved ones can have failed.
            var failure = StartupBinder.ListenerFailure(_options.ConfigPath, loaded.Snapshot!, ex, l => !previous.Listeners.Any(p => p.Name == l.Name && p.Listen == l.Listen));
            return Reject([failure], trigger);
        }

        var live = System.Diagnostics.Stopwatch.GetTimestamp();
        _appliedHash = hash;
        _appliedFilesHash = HashFiles(loaded.Snapshot!.ReloadFiles());
        Interlocked.Increment(ref _applied);
        foreach (var warning in loaded.Warnings)
        {
            LogConfigWarning(_logger, warning.ToString());
        }

        var summary = SnapshotDiff.Describe(previous, loaded.Snapshot!, loaded.Snapshot!.ReplacedBackendConfigs);
        LogApplied(_logger, trigger, summary);
        LogTimings(_logger, trigger, Ms(started, System.Diagnostics.Stopwatch.GetTimestamp()), Ms(started, read), Ms(read, compiled), Ms(compiled, live), Ms(live, System.Diagnostics.Stopwatch.GetTimestamp()));
        return new ReloadResult(ReloadOutcome.Applied, [], summary);
    }

    /// <summary>SHA-256 over the files' contents in order (a missing file hashes as its name): changed, added or removed files change it.</summary>
    internal static byte[] HashFiles(IReadOnlyList<string> files)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var file in files)
        {
            sha.AppendData(Encoding.UTF8.GetBytes(file));
            try
            {
                sha.AppendData(File.ReadAllBytes(file));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                sha.AppendData("\0missing"u8);
            }
        }

        return sha.GetHashAndReset();
    }

    private ReloadResult Reject(List<string> errors, string trigger)
    {
        Interlocked.Increment(ref _rejected);
        foreach (var error in errors)
        {
            LogConfigError(_logger, error);
        }

        LogRejected(_logger, trigger, errors.Count);
        return new ReloadResult(ReloadOutcome.Rejected, errors, $"rejected: {errors.Count} error(s); the previous configuration keeps serving");
    }

    private void NotifySystemd(string state)
    {
        if (_notifier is { IsEnabled: true })
        {
            _notifier.Notify(new ServiceState(state));
        }
    }

    private static string Ms(long from, long to) => System.Diagnostics.Stopwatch.GetElapsedTime(from, to).TotalMilliseconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture);

    private static long MonotonicMicroseconds()
        => (long)(System.Diagnostics.Stopwatch.GetTimestamp() * (1_000_000.0 / System.Diagnostics.Stopwatch.Frequency));

    [LoggerMessage(EventId = 2000, Level = LogLevel.Information, Message = "Reload ({Trigger}) applied: {Summary}")]
    private static partial void LogApplied(ILogger logger, string trigger, string summary);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Error, Message = "Reload ({Trigger}) rejected with {Count} error(s); the previous configuration keeps serving")]
    private static partial void LogRejected(ILogger logger, string trigger, int count);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Error, Message = "{Error}")]
    private static partial void LogConfigError(ILogger logger, string error);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "{Warning}")]
    private static partial void LogConfigWarning(ILogger logger, string warning);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Debug, Message = "Reload ({Trigger}) took {Total} ms: read and hash {Read} ms, load {Load} ms, publish {Publish} ms, diff {Diff} ms")]
    private static partial void LogTimings(ILogger logger, string trigger, string total, string read, string load, string publish, string diff);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Debug, Message = "Reload ({Trigger}): content unchanged")]
    private static partial void LogUnchanged(ILogger logger, string trigger);
}
