using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Core.Proxy;

/// <summary>
/// The bytes one tcp tunnel forwards, counted on its tenant as they go (usage, metrics) and kept for the connection's
/// access-log line. Each direction has its own pump and its own field, so neither contends with the other.
/// </summary>
internal sealed class TunnelBytes
{
    private readonly TenantState _tenant;
    private long _received;
    private long _sent;

    public TunnelBytes(TenantState tenant) => _tenant = tenant;

    /// <summary>From the client to the backend.</summary>
    public long Received => Volatile.Read(ref _received);

    /// <summary>From the backend to the client.</summary>
    public long Sent => Volatile.Read(ref _sent);

    public void Add(bool received, long bytes)
    {
        _tenant.CountTcpBytes(received, bytes);
        if (received)
        {
            Volatile.Write(ref _received, _received + bytes);
        }
        else
        {
            Volatile.Write(ref _sent, _sent + bytes);
        }
    }
}
