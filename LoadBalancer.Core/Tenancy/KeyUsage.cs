namespace LoadBalancer.Core.Tenancy;

/// <summary>
/// Requests made with one access key id; kept by the tenant's state across reloads, per event loop. With a usage
/// ledger, what earlier runs counted is restored once (<see cref="Restore"/>), so a restart does not reset a key's
/// <c>requests</c> and <c>last_used</c>.
/// </summary>
public sealed class KeyUsage
{
    private readonly Counters.LoopCounters _requests = new(1);

    // Environment.TickCount64 (ms) of a recent request, 0 before the first. Written at most about once a second, so a
    // busy key's requests on several loops do not take the cache line from each other on every request; "last used" is
    // exact to a second.
    private long _lastUsedTicks;

    // From the ledger (written by its thread, read by the admin API's): requests and the last use (Unix seconds, 0 for
    // none) of earlier runs.
    private long _restoredRequests;
    private long _restoredLastUsed;

    public long Requests => Volatile.Read(ref _restoredRequests) + _requests.Sum(0);

    /// <summary>The requests this process counted (what the ledger has not been given yet, less what it has).</summary>
    internal long CountedHere => _requests.Sum(0);

    /// <summary>Whether the ledger has restored this key's earlier counts (done once per key).</summary>
    internal bool Restored { get; set; }

    /// <summary>When a request last presented the key (to about a second), or null when none has (since the ledger's records begin).</summary>
    public DateTimeOffset? LastUsed
    {
        get
        {
            var ticks = Volatile.Read(ref _lastUsedTicks);
            if (ticks != 0)
            {
                return DateTimeOffset.UtcNow - TimeSpan.FromMilliseconds(Environment.TickCount64 - ticks);
            }

            var restored = Volatile.Read(ref _restoredLastUsed);
            return restored == 0 ? null : DateTimeOffset.FromUnixTimeSeconds(restored);
        }
    }

    internal void Restore(long requests, long lastUsedUnixSeconds)
    {
        Volatile.Write(ref _restoredLastUsed, lastUsedUnixSeconds);
        Volatile.Write(ref _restoredRequests, requests);
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
