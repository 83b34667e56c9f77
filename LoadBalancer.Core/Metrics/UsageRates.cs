using System.Collections.Concurrent;
using System.Diagnostics;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Core.Metrics;

/// <summary>
/// Current rates per tenant (requests, bytes in and out per second), sampled from the usage totals once a second on a
/// timer, so the data path keeps only totals. Reads the live snapshot; tenants that leave it are forgotten.
/// </summary>
public sealed class UsageRates : IDisposable
{
    private readonly SnapshotHolder _holder;
    private readonly ConcurrentDictionary<TenantState, Totals> _samples = new();
    private readonly ConcurrentDictionary<TenantState, Rate> _rates = new();
    private readonly Timer _timer;

    public UsageRates(SnapshotHolder holder, TimeSpan? period = null)
    {
        _holder = holder;
        var every = period ?? TimeSpan.FromSeconds(1);
        _timer = new Timer(static s => ((UsageRates)s!).Sample(), this, every, every);
    }

    /// <summary>Requests, bytes received and bytes sent per second over the last sampling period.</summary>
    public readonly record struct Rate(double RequestsPerSecond, double BytesReceivedPerSecond, double BytesSentPerSecond);

    private readonly record struct Totals(long Timestamp, long Requests, long BytesReceived, long BytesSent);

    public Rate Get(TenantState state) => _rates.TryGetValue(state, out var rate) ? rate : default;

    internal void Sample()
    {
        var now = Stopwatch.GetTimestamp();
        var live = new HashSet<TenantState>();
        foreach (var tenant in _holder.Current.Tenants.Values)
        {
            var state = tenant.State;
            live.Add(state);
            var current = new Totals(now, state.TotalRequests, state.BytesReceived, state.BytesSent);
            if (_samples.TryGetValue(state, out var last) && now > last.Timestamp)
            {
                var seconds = (now - last.Timestamp) / (double)Stopwatch.Frequency;
                _rates[state] = new Rate(
                    (current.Requests - last.Requests) / seconds,
                    (current.BytesReceived - last.BytesReceived) / seconds,
                    (current.BytesSent - last.BytesSent) / seconds);
            }

            _samples[state] = current;
        }

        foreach (var state in _samples.Keys)
        {
            if (!live.Contains(state))
            {
                _samples.TryRemove(state, out _);
                _rates.TryRemove(state, out _);
            }
        }
    }

    public void Dispose() => _timer.Dispose();
}
