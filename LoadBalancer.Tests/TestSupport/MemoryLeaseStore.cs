using LoadBalancer.Core.Cluster;

namespace LoadBalancer.Tests.TestSupport;

/// <summary>
/// <see cref="LeaseScript"/>'s arithmetic in memory, on a <see cref="ManualClock"/>, shared by several simulated
/// instances; <see cref="Down"/> makes every call fail as an unreachable Redis does.
/// </summary>
internal sealed class MemoryLeaseStore(ManualClock clock, string address = "memory:6379") : ILeaseStore
{
    private readonly Dictionary<string, double> _tat = new(StringComparer.Ordinal);
    private readonly Dictionary<string, double> _instances = new(StringComparer.Ordinal);

    public string Address { get; } = address;

    /// <summary>The clock the simulated instances share with the store.</summary>
    public ManualClock Clock => clock;

    public bool Down { get; set; }

    public int Calls { get; private set; }

    private double NowMicros => clock.GetTimestamp() * 1e6 / clock.TimestampFrequency;

    public Task<LeaseResult> LeaseAsync(string instanceId, TimeSpan instanceTtl, IReadOnlyList<LeaseRequest> requests, TimeSpan timeout, CancellationToken cancellationToken)
    {
        Calls++;
        if (Down)
        {
            return Task.FromException<LeaseResult>(new IOException($"not connected to {Address}"));
        }

        var now = NowMicros;
        _instances[instanceId] = now;
        foreach (var gone in _instances.Where(i => i.Value < now - instanceTtl.TotalMicroseconds).Select(i => i.Key).ToList())
        {
            _instances.Remove(gone);
        }

        var grants = new long[requests.Count];
        for (var i = 0; i < requests.Count; i++)
        {
            var request = requests[i];
            var interval = 1e6 / request.RequestsPerSecond;
            var window = request.Capacity * interval;
            var tat = Math.Max(_tat.GetValueOrDefault(request.Key), now);
            var n = Math.Min(request.Want, (long)Math.Floor(((window - (tat - now)) / interval) + 1e-9));
            if (n > 0)
            {
                _tat[request.Key] = tat + (n * interval);
                grants[i] = n;
            }
        }

        return Task.FromResult(new LeaseResult(_instances.Count, grants));
    }

    public Task LeaveAsync(string instanceId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        _instances.Remove(instanceId);
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
