using LoadBalancer.Core.Metrics;
using LoadBalancer.Core.Routing;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Core.Health;

/// <summary>
/// Runs the active health checks of every pool that has <c>health = { ... }</c>: one checker task per backend, each
/// starting after a random share of the interval and sleeping interval +-10% between checks, so checks of many
/// backends and pools do not align. <see cref="Apply"/> is called with each snapshot the engine makes live: checkers
/// of backends that stay with unchanged settings keep running (their state is in the reused BackendState, so health
/// survives the reload); new ones start; removed ones stop. Off the data path: a lock guards the checker table.
/// </summary>
internal sealed class HealthMonitor : IAsyncDisposable
{
    private readonly Dictionary<BackendState, Checker> _checkers = new(ReferenceEqualityComparer.Instance);
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly Func<HealthCheckKind, IHealthProbe> _probes;
    private bool _disposed;

    public HealthMonitor(ILogger logger, TimeProvider? clock = null, Func<HealthCheckKind, IHealthProbe>? probes = null)
    {
        _logger = logger;
        _clock = clock ?? TimeProvider.System;
        _probes = probes ?? (kind => kind == HealthCheckKind.Http ? HttpGetProbe.Instance : TcpConnectProbe.Instance);
    }

    /// <summary>Backends currently under active checks.</summary>
    public int Count
    {
        get
        {
            lock (_checkers)
            {
                return _checkers.Count;
            }
        }
    }

    /// <summary>Starts and stops checkers so that exactly the backends of pools with a health check are checked.</summary>
    public void Apply(RuntimeSnapshot snapshot)
    {
        var stopped = new List<Checker>();
        lock (_checkers)
        {
            if (_disposed)
            {
                return;
            }

            var wanted = new Dictionary<BackendState, (PoolSnapshot Pool, HealthCheckSettings Settings)>(ReferenceEqualityComparer.Instance);
            var present = new HashSet<BackendState>(ReferenceEqualityComparer.Instance);
            foreach (var pool in snapshot.Pools.Values)
            {
                foreach (var backend in pool.Backends)
                {
                    present.Add(backend);
                    if (pool.HealthCheck is { } settings)
                    {
                        wanted[backend] = (pool, settings);
                    }
                }
            }

            foreach (var (backend, checker) in _checkers.ToArray())
            {
                if (!wanted.TryGetValue(backend, out var want) || want.Settings != checker.Settings || !Equals(backend.Config.EndPoint, checker.EndPoint))
                {
                    _checkers.Remove(backend);
                    stopped.Add(checker);

                    // A backend that stays but lost its check must not stay down forever on the last verdict.
                    if (present.Contains(backend) && !wanted.ContainsKey(backend))
                    {
                        backend.ResetActiveCheck();
                    }
                }
            }

            foreach (var (backend, want) in wanted)
            {
                if (!_checkers.ContainsKey(backend))
                {
                    _checkers[backend] = Checker.Start(this, backend, want.Pool.Name, want.Settings);
                }
            }

            HealthLog.ChecksApplied(_logger, _checkers.Count);
        }

        foreach (var checker in stopped)
        {
            checker.Stop();
        }
    }

    public async ValueTask DisposeAsync()
    {
        Checker[] all;
        lock (_checkers)
        {
            _disposed = true;
            all = [.. _checkers.Values];
            _checkers.Clear();
        }

        foreach (var checker in all)
        {
            checker.Stop();
        }

        foreach (var checker in all)
        {
            await checker.Completion.ConfigureAwait(false);
        }
    }

    private TimeSpan Jittered(TimeSpan interval, double low, double high)
        => TimeSpan.FromTicks((long)(interval.Ticks * (low + (Random.Shared.NextDouble() * (high - low)))));

    private sealed class Checker
    {
        private readonly CancellationTokenSource _stop = new();

        private Checker(BackendState backend, HealthCheckSettings settings)
        {
            Backend = backend;
            Settings = settings;
            EndPoint = backend.Config.EndPoint;
        }

        public BackendState Backend { get; }

        public HealthCheckSettings Settings { get; }

        public System.Net.IPEndPoint EndPoint { get; }

        public Task Completion { get; private set; } = Task.CompletedTask;

        public static Checker Start(HealthMonitor monitor, BackendState backend, string pool, HealthCheckSettings settings)
        {
            var checker = new Checker(backend, settings);
            checker.Completion = checker.RunAsync(monitor, pool);
            return checker;
        }

        public void Stop()
        {
            try
            {
                _stop.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Already finished and disposed.
            }
        }

        private async Task RunAsync(HealthMonitor monitor, string pool)
        {
            var stop = _stop.Token;
            var probe = monitor._probes(Settings.Kind);
            var kind = Settings.Kind == HealthCheckKind.Http ? "http" : "tcp";
            try
            {
                // First check somewhere in the first interval: pools loaded together do not check in lockstep.
                await Task.Delay(monitor.Jittered(Settings.Interval, 0, 1), monitor._clock, stop).ConfigureAwait(false);
                while (!stop.IsCancellationRequested)
                {
                    bool healthy;
                    using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop))
                    {
                        timeout.CancelAfter(Settings.Timeout);
                        healthy = await probe.CheckAsync(EndPoint, Backend.Config.HostName, Settings, timeout.Token).ConfigureAwait(false);
                    }

                    if (stop.IsCancellationRequested)
                    {
                        break;
                    }

                    switch (Backend.RecordCheck(healthy, Settings.Rise, Settings.Fall))
                    {
                        case HealthTransition.Down:
                            HealthLog.BackendDown(monitor._logger, Backend.Config.Address, pool, Settings.Fall, kind);
                            break;
                        case HealthTransition.Up:
                            HealthLog.BackendUp(monitor._logger, Backend.Config.Address, pool, Settings.Rise, kind);
                            break;
                    }

                    await Task.Delay(monitor.Jittered(Settings.Interval, 0.9, 1.1), monitor._clock, stop).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // Stopped by Apply or Dispose.
            }
            finally
            {
                _stop.Dispose();
            }
        }
    }
}
