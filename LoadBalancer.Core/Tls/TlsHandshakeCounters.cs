namespace LoadBalancer.Core.Tls;

/// <summary>
/// Live handshake counts of one listener, by <see cref="TlsHandshakeResult"/>: outside the snapshot, carried across
/// reloads by listener name, so <c>lb_tls_handshakes_total</c> never goes back. Interlocked only.
/// </summary>
public sealed class TlsHandshakeCounters
{
    public const int Count = 5;

    private readonly long[] _counts = new long[Count];

    public long this[TlsHandshakeResult result] => Volatile.Read(ref _counts[(int)result]);

    public void Add(TlsHandshakeResult result) => Interlocked.Increment(ref _counts[(int)result]);

    public static string Name(TlsHandshakeResult result) => result switch
    {
        TlsHandshakeResult.Ok => "ok",
        TlsHandshakeResult.Resumed => "resumed",
        TlsHandshakeResult.Failed => "failed",
        TlsHandshakeResult.Timeout => "timeout",
        _ => "no_certificate",
    };
}
