using LoadBalancer.Core.Routing;

namespace LoadBalancer.Core.Dns;

/// <summary>
/// The addresses a name resolved to, each as the <see cref="BackendState"/> that serves it. Immutable: the resolver
/// replaces the whole answer, so the compiler and the admin API read a consistent set without a lock.
/// </summary>
internal sealed class DnsAnswer
{
    public static readonly DnsAnswer None = new([], 0, TimeSpan.Zero);

    public DnsAnswer(BackendState[] backends, long resolvedAt, TimeSpan ttl)
    {
        Backends = backends;
        ResolvedAt = resolvedAt;
        Ttl = ttl;
    }

    /// <summary>Sorted by address, so two answers compare element by element.</summary>
    public BackendState[] Backends { get; }

    /// <summary>TimeProvider timestamp of the resolution that produced this answer; 0 for <see cref="None"/>.</summary>
    public long ResolvedAt { get; }

    /// <summary>The smallest TTL of the records, before the min_ttl / max_ttl clamps.</summary>
    public TimeSpan Ttl { get; }
}
