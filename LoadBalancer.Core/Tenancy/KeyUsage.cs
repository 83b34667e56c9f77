namespace LoadBalancer.Core.Tenancy;

/// <summary>Requests made with one access key id; kept by the tenant's state across reloads, per event loop.</summary>
public sealed class KeyUsage
{
    private readonly Counters.LoopCounters _requests = new(1);

    public long Requests => _requests.Sum(0);

    internal void Count() => _requests.Add(0, 1);
}
