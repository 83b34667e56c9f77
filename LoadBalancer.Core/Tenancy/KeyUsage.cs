namespace LoadBalancer.Core.Tenancy;

/// <summary>Requests made with one access key id; kept by the tenant's state across reloads.</summary>
public sealed class KeyUsage
{
    private long _requests;

    public long Requests => Interlocked.Read(ref _requests);

    internal void Count() => Interlocked.Increment(ref _requests);
}
