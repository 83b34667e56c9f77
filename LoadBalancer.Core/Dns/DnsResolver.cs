using System.Net;
using DnsClient;
using LoadBalancer.Core.Routing;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Core.Dns;

/// <summary>
/// Resolves the pools' backend names off the data path: one background task asks each name again when its answer's
/// TTL (clamped to <c>min_ttl</c>..<c>max_ttl</c>) runs out, and on a changed answer swaps the pool's backend array
/// and balancer in one step each (<see cref="PoolSnapshot.ReplaceBackends"/>), so a pick never takes a lock. Addresses
/// that left are retired: their in-flight requests finish, they get no new ones. Addresses that came enter under the
/// pool's <c>slow_start</c>. A failed or NXDOMAIN resolution keeps the last good answer for <c>hold</c>.
/// </summary>
internal sealed class DnsResolver : IAsyncDisposable
{
    private static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(30);

    private readonly ILogger _logger;
    private readonly TimeProvider _clock;
    private readonly Action _backendsChanged;
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    private readonly CancellationTokenSource _stop = new();
    private readonly object _gate = new();
    private PoolSnapshot[] _pools = [];
    private DnsSettings _settings = DnsSettings.Default;
    private bool _poolsChanged;
    private Task? _loop;
    private TaskCompletionSource _round = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <param name="backendsChanged">Called (on the resolver's task) after a pool's backends changed: health checks follow.</param>
    public DnsResolver(ILogger logger, Action backendsChanged, TimeProvider? clock = null)
    {
        _logger = logger;
        _backendsChanged = backendsChanged;
        _clock = clock ?? TimeProvider.System;
    }

    /// <summary>Resolves the names of <paramref name="snapshot"/>'s pools from now on (called with each live snapshot).</summary>
    public void Apply(RuntimeSnapshot snapshot)
    {
        var pools = new List<PoolSnapshot>();
        foreach (var pool in snapshot.Pools.Values)
        {
            if (pool.DnsTargets.Length > 0)
            {
                pools.Add(pool);
            }
        }

        lock (_gate)
        {
            if (_stop.IsCancellationRequested)
            {
                return;
            }

            _pools = [.. pools];
            _settings = snapshot.Dns;
            _poolsChanged = true;
            if (_loop is null && pools.Count > 0)
            {
                _loop = Task.Run(RunAsync);
            }
        }

        _wake.Release();
    }

    /// <summary>
    /// Waits until every name of the live pools has had one resolution (good or not), at most <paramref name="timeout"/>:
    /// lb starts serving with the names it could resolve instead of answering 503 for the first milliseconds.
    /// </summary>
    public async Task WaitFirstAnswersAsync(TimeSpan timeout)
    {
        var deadline = _clock.GetTimestamp() + (long)(timeout.TotalSeconds * _clock.TimestampFrequency);
        while (true)
        {
            Task round;
            lock (_gate)
            {
                if (_pools.All(p => p.DnsTargets.All(t => t.LastResult is not null)))
                {
                    return;
                }

                round = _round.Task;
            }

            var left = deadline - _clock.GetTimestamp();
            if (left <= 0 || await Task.WhenAny(round, Task.Delay(TimeSpan.FromSeconds((double)left / _clock.TimestampFrequency), _clock)).ConfigureAwait(false) != round)
            {
                return;
            }
        }
    }

    private async Task RunAsync()
    {
        LookupClient? client = null;
        DnsSettings? clientSettings = null;
        while (!_stop.IsCancellationRequested)
        {
            PoolSnapshot[] pools;
            DnsSettings settings;
            bool poolsChanged;
            lock (_gate)
            {
                pools = _pools;
                settings = _settings;
                poolsChanged = _poolsChanged;
                _poolsChanged = false;
            }

            var next = long.MaxValue;
            try
            {
                if (client is null || clientSettings is null || !clientSettings.SameServers(settings))
                {
                    client = DnsLookup.CreateClient(settings);
                    clientSettings = settings;
                }

                var changed = false;
                if (poolsChanged)
                {
                    // A new snapshot's pools were compiled from the answers as they were then, and a reload may have
                    // retired a backend this task had just added to the previous pool: bring each pool up to date.
                    foreach (var pool in pools)
                    {
                        changed |= Refresh(pool);
                    }
                }

                // Every due name at once (a silent server costs one query timeout per round, not one per name); the
                // answers are then applied one by one, so two names of a pool never swap its backends concurrently.
                var due = new List<(PoolSnapshot Pool, DnsTarget Target)>();
                foreach (var pool in pools)
                {
                    foreach (var target in pool.DnsTargets)
                    {
                        if (target.NextDue <= _clock.GetTimestamp())
                        {
                            due.Add((pool, target));
                        }
                    }
                }

                var lookup = client;
                var outcomes = await Task.WhenAll(due.Select(d => DnsLookup.ResolveAsync(lookup, d.Target.Host, _stop.Token))).ConfigureAwait(false);
                for (var i = 0; i < due.Count; i++)
                {
                    changed |= Apply(due[i].Pool, due[i].Target, outcomes[i], settings);
                }

                foreach (var pool in pools)
                {
                    foreach (var target in pool.DnsTargets)
                    {
                        next = Math.Min(next, target.NextDue);
                    }
                }

                if (changed)
                {
                    _backendsChanged();
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // A bug here must not end resolution for good; back off a little and try again.
                DnsLog.RoundFailed(_logger, ex);
                next = _clock.GetTimestamp() + _clock.TimestampFrequency;
            }

            TaskCompletionSource done;
            lock (_gate)
            {
                done = _round;
                _round = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            done.TrySetResult();
            var wait = next == long.MaxValue ? Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(Math.Max(0, (double)(next - _clock.GetTimestamp()) / _clock.TimestampFrequency));
            try
            {
                await _wake.WaitAsync(wait, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Takes one resolution of <paramref name="target"/>; true when the pool's backends changed.</summary>
    private bool Apply(PoolSnapshot pool, DnsTarget target, DnsLookup.Outcome outcome, DnsSettings settings)
    {
        var now = _clock.GetTimestamp();
        var previousResult = target.LastResult;
        target.Count(outcome.Result);
        var answer = target.Answer;
        if (outcome.Result == DnsResult.Ok)
        {
            target.FailingSince = 0;
            target.NextDue = now + Ticks(Clamp(outcome.Ttl, settings));
            if (SameAddresses(answer.Backends, outcome.Addresses))
            {
                target.Answer = new DnsAnswer(answer.Backends, now, outcome.Ttl);
                return false;
            }

            var backends = new BackendState[outcome.Addresses.Count];
            var added = new List<IPAddress>();
            for (var i = 0; i < backends.Length; i++)
            {
                var address = outcome.Addresses[i];
                backends[i] = Find(answer.Backends, address) ?? NewBackend(pool, target, address, ramp: answer.Backends.Length > 0);
                if (Find(answer.Backends, address) is null)
                {
                    added.Add(address);
                }
            }

            var removed = answer.Backends.Where(b => !outcome.Addresses.Contains(b.Config.EndPoint.Address)).ToArray();
            target.Answer = new DnsAnswer(backends, now, outcome.Ttl);
            Refresh(pool);
            foreach (var gone in removed)
            {
                gone.Retire();
            }

            DnsLog.Changed(_logger, target.Host, pool.Name, List(backends), (int)Math.Min(int.MaxValue, outcome.Ttl.TotalSeconds), string.Join(", ", added), List(removed));
            return true;
        }

        var retry = Clamp(settings.MinTtl, TimeSpan.FromSeconds(1), MaxRetry);
        target.NextDue = now + Ticks(retry);
        if (answer.Backends.Length == 0)
        {
            if (previousResult != outcome.Result)
            {
                DnsLog.Unresolved(_logger, target.Host, pool.Name, DnsTarget.ResultName(outcome.Result), outcome.Reason ?? "", retry);
            }

            return false;
        }

        if (target.FailingSince == 0)
        {
            target.FailingSince = now;
        }

        if (now - target.FailingSince < Ticks(settings.Hold))
        {
            if (previousResult != outcome.Result)
            {
                DnsLog.Holding(_logger, target.Host, pool.Name, DnsTarget.ResultName(outcome.Result), outcome.Reason ?? "", List(answer.Backends), settings.Hold);
            }

            return false;
        }

        target.Answer = DnsAnswer.None;
        Refresh(pool);
        foreach (var gone in answer.Backends)
        {
            gone.Retire();
        }

        DnsLog.HoldExpired(_logger, target.Host, pool.Name, settings.Hold, List(answer.Backends));
        return true;
    }

    /// <summary>Makes the pool's backends its literals plus its targets' answers; true when that changed them.</summary>
    private static bool Refresh(PoolSnapshot pool)
    {
        var wanted = new List<BackendState>(pool.LiteralBackends);
        foreach (var target in pool.DnsTargets)
        {
            var answer = target.Answer;
            if (answer.Backends.Any(b => b.IsRetired))
            {
                // Retired by a reload that raced this task: the address is still in the answer, so it gets a fresh state.
                var fresh = answer.Backends.Select(b => b.IsRetired ? Fresh(pool, b) : b).ToArray();
                target.Answer = answer = new DnsAnswer(fresh, answer.ResolvedAt, answer.Ttl);
            }

            wanted.AddRange(answer.Backends);
        }

        if (wanted.SequenceEqual(pool.Backends, ReferenceEqualityComparer.Instance))
        {
            return false;
        }

        var backends = wanted.ToArray();
        pool.ReplaceBackends(backends, pool.BalancerFactory!.Create(backends));
        return true;
    }

    private static BackendState NewBackend(PoolSnapshot pool, DnsTarget target, IPAddress address, bool ramp)
    {
        var backend = new BackendState(target.BackendFor(address)) { Slots = pool.Slots, SlowStart = pool.SlowStart };
        if (ramp)
        {
            // An address added to a name already serving enters under slow_start, like a backend coming back.
            backend.StartRamp(backend.Clock.GetTimestamp());
        }

        return backend;
    }

    private static BackendState Fresh(PoolSnapshot pool, BackendState retired) =>
        new(retired.Config) { Slots = pool.Slots, SlowStart = pool.SlowStart };

    private static BackendState? Find(BackendState[] backends, IPAddress address)
    {
        foreach (var backend in backends)
        {
            if (backend.Config.EndPoint.Address.Equals(address))
            {
                return backend;
            }
        }

        return null;
    }

    private static bool SameAddresses(BackendState[] backends, List<IPAddress> addresses)
    {
        if (backends.Length != addresses.Count)
        {
            return false;
        }

        for (var i = 0; i < backends.Length; i++)
        {
            if (!backends[i].Config.EndPoint.Address.Equals(addresses[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static string List(IEnumerable<BackendState> backends) => string.Join(", ", backends.Select(b => b.Config.EndPoint.Address));

    private static TimeSpan Clamp(TimeSpan ttl, DnsSettings settings) => Clamp(ttl, settings.MinTtl, settings.MaxTtl);

    private static TimeSpan Clamp(TimeSpan value, TimeSpan min, TimeSpan max) => value < min ? min : value > max ? max : value;

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _clock.TimestampFrequency);

    public async ValueTask DisposeAsync()
    {
        Task? loop;
        lock (_gate)
        {
            _stop.Cancel();
            loop = _loop;
        }

        if (loop is not null)
        {
            await loop.ConfigureAwait(false);
        }

        _stop.Dispose();
        _wake.Dispose();
    }
}
