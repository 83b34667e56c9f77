using System.Net;

namespace LoadBalancer.Core.Dns;

/// <summary><c>[dns]</c> as compiled: where backend names are resolved and how long answers are trusted.</summary>
public sealed record DnsSettings
{
    public static readonly TimeSpan DefaultMinTtl = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan DefaultMaxTtl = TimeSpan.FromHours(1);
    public static readonly TimeSpan DefaultHold = TimeSpan.FromMinutes(5);

    public static readonly DnsSettings Default = new();

    /// <summary><c>servers</c>; empty means the system's name servers (resolv.conf).</summary>
    public IReadOnlyList<IPEndPoint> Servers { get; init; } = [];

    /// <summary>
    /// <c>min_ttl</c>: an answer is asked again no sooner than this, whatever its TTL (a TTL of 0 would otherwise make
    /// the resolver query in a loop). Also the pause before retrying a failed resolution.
    /// </summary>
    public TimeSpan MinTtl { get; init; } = DefaultMinTtl;

    /// <summary><c>max_ttl</c>: an answer is asked again at the latest after this, however long its TTL.</summary>
    public TimeSpan MaxTtl { get; init; } = DefaultMaxTtl;

    /// <summary><c>hold</c>: how long the last good answer is kept while resolutions fail or say NXDOMAIN.</summary>
    public TimeSpan Hold { get; init; } = DefaultHold;

    /// <summary>Records compare lists by reference; the resolver only needs a new client when a server changed.</summary>
    public bool SameServers(DnsSettings other) => Servers.SequenceEqual(other.Servers);
}
