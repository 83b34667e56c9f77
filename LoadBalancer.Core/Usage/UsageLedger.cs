using System.Diagnostics;
using System.Threading.Channels;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Core.Usage;

/// <summary>
/// The durable usage ledger (<c>[usage] path</c>): an SQLite database in WAL mode, written by one background task.
/// Once a <see cref="UsageLedgerSettings.FlushInterval"/> it reads every <see cref="UsageCell"/> of the live snapshot
/// (and cells a reload removed, which tenants' states keep), and adds the differences since its last read to the rows of
/// the current UTC minute, in one transaction. The hot path only adds to the cells; it never waits for this task or
/// for SQLite. A write that fails (full disk, read-only file) is logged, its rows stay pending in memory and are
/// retried with the next flush; requests go on. Queries and on-demand flushes reach the task through a bounded
/// channel, so the one connection is only ever used by it. Stopping flushes what is left.
/// </summary>
public sealed partial class UsageLedger : IAsyncDisposable
{
    private readonly UsageLedgerSettings _settings;
    private readonly SnapshotHolder _snapshots;
    private RuntimeSnapshot? _quotasRestoredFor;
    private readonly ILogger _logger;
    private readonly TimeProvider _clock;
    private readonly Channel<Func<SqliteConnection?, Task>> _work = Channel.CreateBounded<Func<SqliteConnection?, Task>>(new BoundedChannelOptions(64) { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<UsageCell, long[]> _seen = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<UsageKey, UsageDelta> _pending = [];

    // Refusals keyed with the reason in place of the status class; quota counts with neither route nor class.
    private readonly Dictionary<UsageKey, UsageDelta> _pendingRefusals = [];
    private readonly Dictionary<UsageKey, UsageDelta> _pendingQuota = [];

    // Tcp listeners' connections per (minute, tenant), from the tenants' own counters (they have no consumer or route).
    private readonly Dictionary<TenantState, long[]> _seenTcp = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<(long Minute, string Tenant), ConnectionDelta> _pendingConnections = [];
    private readonly Dictionary<KeyUsage, long> _seenKeys = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<(string Tenant, string Key), (long Requests, long LastUsed)> _pendingKeys = [];

    // Tenants a reload removed: their states (never reused: a tenant added again gets a new one) are read once more
    // and then forgotten with their cells and keys, so the maps above hold only what the live snapshot has.
    private readonly HashSet<TenantState> _live = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<TenantState> _removed = new(ReferenceEqualityComparer.Instance);
    private readonly List<TenantState> _notLive = [];
    private RuntimeSnapshot? _sweptFor;
    private SqliteConnection? _connection;
    private Task? _loop;
    private long _lastError = long.MinValue;
    private DateTime _lastPurge;
    private long _flushes;
    private long _failures;

    public UsageLedger(UsageLedgerSettings settings, SnapshotHolder snapshots, ILogger logger, TimeProvider? clock = null)
    {
        _settings = settings;
        _snapshots = snapshots;
        _logger = logger;
        _clock = clock ?? TimeProvider.System;
    }

    public UsageLedgerSettings Settings => _settings;

    /// <summary>Successful flushes (ones that wrote rows or found nothing to write).</summary>
    public long Flushes => Interlocked.Read(ref _flushes);

    /// <summary>Flushes that failed (their rows stay pending).</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Rows waiting for a write that succeeds.</summary>
    public int PendingRows { get; private set; }

    /// <summary>
    /// Opens (or creates) the database, restores every consumer's quota count for its current period from it, and
    /// starts the writer. A database that cannot be opened is logged; lb then serves and counts in memory, and the
    /// writer tries again on each flush.
    /// </summary>
    public void Start()
    {
        // Cells exist from the first snapshot on: their counts so far are what the first flush writes.
        _connection = TryOpen();
        if (_connection is not null)
        {
            RestoreQuotas(_connection, _snapshots.Current);
            RestoreKeys(_connection, _snapshots.Current);
        }

        _loop = Task.Run(RunAsync);
    }

    /// <summary>Writes what the counters hold now (the current minute included); completes when it is stored, or the write failed.</summary>
    public Task FlushAsync() => EnqueueAsync(async connection => await Task.CompletedTask.ConfigureAwait(false));

    /// <summary>Flushes, then runs <paramref name="query"/> on the writer's connection (null while the database cannot be opened).</summary>
    public async Task<T> QueryAsync<T>(Func<SqliteConnection?, T> query)
    {
        T result = default!;
        await EnqueueAsync(connection =>
        {
            result = query(connection);
            return Task.CompletedTask;
        }).ConfigureAwait(false);
        return result;
    }

    private async Task EnqueueAsync(Func<SqliteConnection?, Task> after)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await _work.Writer.WriteAsync(async connection =>
        {
            try
            {
                await after(connection).ConfigureAwait(false);
                done.TrySetResult();
            }
            catch (Exception ex)
            {
                done.TrySetException(ex);
            }
        }).ConfigureAwait(false);
        await done.Task.ConfigureAwait(false);
    }

    private async Task RunAsync()
    {
        using var timer = new PeriodicTimer(_settings.FlushInterval, _clock);
        var tick = timer.WaitForNextTickAsync(_stop.Token).AsTask();
        var reader = _work.Reader;
        while (true)
        {
            var next = reader.WaitToReadAsync().AsTask();
            var finished = await Task.WhenAny(tick, next).ConfigureAwait(false);
            if (finished == tick)
            {
                if (tick.IsCanceled || !await tick.ConfigureAwait(false))
                {
                    break;
                }

                Flush();
                tick = timer.WaitForNextTickAsync(_stop.Token).AsTask();
                continue;
            }

            if (!await next.ConfigureAwait(false))
            {
                break;
            }

            Flush();
            while (reader.TryRead(out var work))
            {
                await work(_connection).ConfigureAwait(false);
            }
        }

        Flush();
        while (reader.TryRead(out var work))
        {
            await work(_connection).ConfigureAwait(false);
        }
    }

    /// <summary>Collects the cells' differences into pending rows, then writes every pending row in one transaction.</summary>
    private void Flush()
    {
        try
        {
            FlushOnce();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The writer must outlive any surprise: counting goes on in memory and the next flush tries again.
            Interlocked.Increment(ref _failures);
            ReportError(ex);
        }
    }

    private void FlushOnce()
    {
        var minute = _clock.GetUtcNow().ToUnixTimeSeconds() / 60;
        Collect(minute);
        _connection ??= TryOpen();
        if (_connection is null)
        {
            return;
        }

        // A consumer whose quota counter a reload created (a new consumer, or a changed period) gets the requests the
        // ledger holds for its period, before this flush writes the ones it counted since; a kept counter has them.
        if (!ReferenceEquals(_snapshots.Current, _quotasRestoredFor))
        {
            RestoreQuotas(_connection, _snapshots.Current);
            RestoreKeys(_connection, _snapshots.Current);
        }

        if (_pending.Count + _pendingRefusals.Count + _pendingQuota.Count + _pendingConnections.Count + _pendingKeys.Count > 0)
        {
            try
            {
                Write(_connection);
                _pending.Clear();
                _pendingRefusals.Clear();
                _pendingQuota.Clear();
                _pendingConnections.Clear();
                _pendingKeys.Clear();
                PendingRows = 0;
            }
            catch (Exception ex) when (ex is SqliteException or IOException or UnauthorizedAccessException or InvalidOperationException)
            {
                Interlocked.Increment(ref _failures);
                PendingRows = _pending.Count + _pendingRefusals.Count + _pendingQuota.Count + _pendingConnections.Count + _pendingKeys.Count;
                ReportError(ex);
                return;
            }
        }

        Interlocked.Increment(ref _flushes);
        Purge(_connection);
    }

    private void Collect(long minute)
    {
        foreach (var tenant in _snapshots.Current.Tenants.Values)
        {
            if (tenant.State.PlainCell is { } plain)
            {
                CollectCell(plain, minute);
            }

            foreach (var cell in tenant.State.OtherCells ?? Array.Empty<UsageCell>())
            {
                CollectCell(cell, minute);
            }

            CollectTcp(tenant.Name, tenant.State, minute);
            CollectKeys(tenant.Name, tenant.State);
        }

        SweepRemovedTenants(minute);
    }

    /// <summary>States the ledger has read (each in <see cref="_seenTcp"/>) that the live snapshot no longer has.</summary>
    internal int RemovedTenantsHeld => _removed.Count;

    /// <summary>Cells, tenants and keys whose last read counts the ledger keeps (tests: nothing grows with reloads).</summary>
    internal (int Cells, int Tenants, int Keys) Tracked => (_seen.Count, _seenTcp.Count, _seenKeys.Count);

    /// <summary>
    /// After a reload, the tenants it removed: requests still finishing on them after the last read (they took the
    /// old snapshot) are read and written like any others; a state is forgotten at the first flush after the one that
    /// found it removed at which it has nothing in flight and no connection, so none can count into it any more.
    /// </summary>
    private void SweepRemovedTenants(long minute)
    {
        var snapshot = _snapshots.Current;
        if (ReferenceEquals(snapshot, _sweptFor) && _removed.Count == 0)
        {
            return;
        }

        _sweptFor = snapshot;
        _live.Clear();
        foreach (var tenant in snapshot.Tenants.Values)
        {
            _live.Add(tenant.State);
        }

        _notLive.Clear();
        foreach (var state in _seenTcp.Keys)
        {
            if (!_live.Contains(state))
            {
                _notLive.Add(state);
            }
        }

        _live.Clear();
        foreach (var state in _notLive)
        {
            // Read before the last collection: a request that ends after it counted before leaving in-flight.
            var idle = state.InFlight == 0 && state.ActiveConnections == 0;
            if (state.PlainCell is { } plain)
            {
                CollectCell(plain, minute);
            }

            foreach (var cell in state.OtherCells ?? Array.Empty<UsageCell>())
            {
                CollectCell(cell, minute);
            }

            CollectTcp(state.Name, state, minute);
            CollectKeys(state.Name, state);
            if (_removed.Add(state) || !idle)
            {
                continue;
            }

            if (state.PlainCell is { } forgotten)
            {
                _seen.Remove(forgotten);
            }

            foreach (var cell in state.OtherCells ?? Array.Empty<UsageCell>())
            {
                _seen.Remove(cell);
            }

            foreach (var (_, usage) in state.Keys)
            {
                _seenKeys.Remove(usage);
            }

            _seenTcp.Remove(state);
            _removed.Remove(state);
        }

        _notLive.Clear();
    }

    /// <summary>Each access key's requests since the last flush and its last use (a key's lifetime totals, no minutes).</summary>
    private void CollectKeys(string tenant, TenantState state)
    {
        foreach (var (id, usage) in state.Keys)
        {
            var now = usage.CountedHere;
            _seenKeys.TryGetValue(usage, out var seen);
            if (now == seen)
            {
                continue;
            }

            _seenKeys[usage] = now;
            var lastUsed = usage.LastUsed?.ToUnixTimeSeconds() ?? 0;
            var row = _pendingKeys.GetValueOrDefault((tenant, id));
            _pendingKeys[(tenant, id)] = (row.Requests + now - seen, Math.Max(row.LastUsed, lastUsed));
        }
    }

    private void CollectTcp(string name, TenantState state, long minute)
    {
        if (!_seenTcp.TryGetValue(state, out var seen))
        {
            _seenTcp[state] = seen = new long[5];
        }

        var delta = new ConnectionDelta
        {
            Connections = TakeTcp(state.TcpConnections, ref seen[0]),
            Refused = TakeTcp(state.TcpRefused, ref seen[1]),
            BytesIn = TakeTcp(state.TcpBytesReceived, ref seen[2]),
            BytesOut = TakeTcp(state.TcpBytesSent, ref seen[3]),
            DurationMicros = TakeTcp(state.TcpDurationTicks, ref seen[4]) * 1_000_000 / Stopwatch.Frequency,
        };
        if (delta.IsEmpty)
        {
            return;
        }

        if (_pendingConnections.TryGetValue((minute, name), out var row))
        {
            row.Connections += delta.Connections;
            row.Refused += delta.Refused;
            row.BytesIn += delta.BytesIn;
            row.BytesOut += delta.BytesOut;
            row.DurationMicros += delta.DurationMicros;
        }
        else
        {
            _pendingConnections[(minute, name)] = delta;
        }
    }

    private static long TakeTcp(long now, ref long seen)
    {
        var delta = now - seen;
        seen = now;
        return delta;
    }

    private void CollectCell(UsageCell cell, long minute)
    {
        if (!_seen.TryGetValue(cell, out var seen))
        {
            _seen[cell] = seen = new long[UsageCell.Width];
        }

        for (var c = 0; c < StatusClasses.Count; c++)
        {
            var requests = Take(cell, UsageCell.RequestsAt + c, seen);
            var bytesIn = Take(cell, UsageCell.BytesInAt + c, seen);
            var bytesOut = Take(cell, UsageCell.BytesOutAt + c, seen);
            var ticks = Take(cell, UsageCell.DurationAt + c, seen);
            if (requests == 0 && bytesIn == 0 && bytesOut == 0 && ticks == 0)
            {
                continue;
            }

            var delta = Row(_pending, new UsageKey(minute, cell.Tenant, cell.Consumer, cell.Route, StatusClasses.Name(c)));
            delta.Requests += requests;
            delta.BytesIn += bytesIn;
            delta.BytesOut += bytesOut;
            delta.DurationMicros += ticks * 1_000_000 / Stopwatch.Frequency;
        }

        for (var r = 0; r < UsageCell.RefusalSlots; r++)
        {
            var refused = Take(cell, UsageCell.RefusedAt + r, seen);
            if (refused != 0)
            {
                Row(_pendingRefusals, new UsageKey(minute, cell.Tenant, cell.Consumer, cell.Route, UsageCell.RefusalName(r))).Requests += refused;
            }
        }

        var quota = Take(cell, UsageCell.QuotaAt, seen);
        if (quota != 0)
        {
            Row(_pendingQuota, new UsageKey(minute, cell.Tenant, cell.Consumer, "", "")).Requests += quota;
        }
    }

    private static long Take(UsageCell cell, int slot, long[] seen)
    {
        var now = cell.Read(slot);
        var delta = now - seen[slot];
        seen[slot] = now;
        return delta;
    }

    private static UsageDelta Row(Dictionary<UsageKey, UsageDelta> rows, UsageKey key)
    {
        if (!rows.TryGetValue(key, out var delta))
        {
            rows[key] = delta = new UsageDelta();
        }

        return delta;
    }

    private void ReportError(Exception ex)
    {
        // Loud, but not once a second for ever: the first failure, then every 30 s while it lasts.
        var now = _clock.GetTimestamp();
        if (now - _lastError >= 30 * _clock.TimestampFrequency || _lastError == long.MinValue)
        {
            _lastError = now;
            LogWriteFailed(_logger, _settings.Path, _pending.Count, ex.Message);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_loop is not null)
        {
            _work.Writer.TryComplete();
            await _stop.CancelAsync().ConfigureAwait(false);
            await _loop.ConfigureAwait(false);
        }

        if (_connection is not null)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
            SqliteConnection.ClearAllPools();
        }

        _stop.Dispose();
    }

    [LoggerMessage(EventId = 7001, Level = LogLevel.Error, Message = "Usage ledger {Path}: write failed, {Rows} rows kept in memory and retried at the next flush: {Error}")]
    private static partial void LogWriteFailed(ILogger logger, string path, int rows, string error);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Error, Message = "Usage ledger {Path}: cannot open the database ({Error}); counting in memory and trying again at each flush")]
    private static partial void LogOpenFailed(ILogger logger, string path, string error);

    [LoggerMessage(EventId = 7003, Level = LogLevel.Information, Message = "Usage ledger {Path}: quota of consumer {Consumer} (tenant {Tenant}) restored: {Used} requests since {PeriodStart:u}")]
    private static partial void LogQuotaRestored(ILogger logger, string path, string tenant, string consumer, long used, DateTime periodStart);
}
