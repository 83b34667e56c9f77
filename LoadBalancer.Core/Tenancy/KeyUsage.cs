namespace LoadBalancer.Core.Tenancy;

/// <summary>Requests made with one access key id; kept by the tenant's state across reloads, per event loop.</summary>
public sealed class KeyUsage
{
    private readonly Counters.LoopCounters _requests = new(1);

    // Environment.TickCount64 (ms) of a recent request, 0 before the first. Written at most about once a second, so a
    // busy key's requests on several loops do not take the cache line from each other on every request; "last used" is
    // exact to a second.
    private long _lastUsedTicks;

    public long Requests => _requests.Sum(0);

    /// <summary>When a request last presented the key (to about a second), or null when none has since lb started.</summary>
    public DateTimeOffset? LastUsed
    {
        get
        {
            var ticks = Volatile.Read(ref _lastUsedTicks);
            return ticks == 0 ? null : DateTimeOffset.UtcNow - TimeSpan.FromMilliseconds(Environment.TickCount64 - ticks);
        }
    }

    internal void Count()
    {
        _requests.Add(0, 1);
        var now = Environment.TickCount64;
        if (now - Volatile.Read(ref _lastUsedTicks) >= 1000)
        {
            Volatile.Write(ref _lastUsedTicks, now);
        }
    }
}
