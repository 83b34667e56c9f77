using System.Net;
using LoadBalancer.Core.Routing;

namespace LoadBalancer.Core.Dns;

/// <summary>
/// One pool backend written as a name (<c>address = "api.internal:8443"</c>) in one snapshot, and its live part (the
/// last good answer, the resolution counts), which is carried across reloads by pool name and address text like
/// <see cref="BackendState"/>: a reload with the same names keeps the resolved backends (and their connections,
/// counts and health). Only the resolver writes the live part; everything else reads the answer whole.
/// </summary>
public sealed class DnsTarget
{
    private readonly Live _live;

    internal DnsTarget(string pool, string entry, string host, int port, int weight, DnsTarget? carried = null)
    {
        Pool = pool;
        Entry = entry;
        Host = host;
        Port = port;
        Weight = weight;
        _live = carried?._live ?? new Live();
    }

    public string Pool { get; }

    /// <summary>The address as written, e.g. <c>api.internal:8443</c>: the target's identity across reloads.</summary>
    public string Entry { get; }

    public string Host { get; }

    public int Port { get; }

    /// <summary>The entry's weight in this snapshot, shared by every address it resolves to.</summary>
    public int Weight { get; }

    /// <summary>Where the entry is written (its <c>address</c> key), for <c>lb check</c>'s warning.</summary>
    internal (string Path, int Line, int Column) Source { get; init; }

    /// <summary>True when both are the same name of the same pool across a reload: they share the answer and counts.</summary>
    internal bool SharesStateWith(DnsTarget other) => ReferenceEquals(_live, other._live);

    internal DnsAnswer Answer
    {
        get => Volatile.Read(ref _live.Answer);
        set => Volatile.Write(ref _live.Answer, value);
    }

    /// <summary>The backends of the last good answer (empty before the first one, and after <c>hold</c> ran out).</summary>
    public IReadOnlyList<BackendState> Backends => Answer.Backends;

    /// <summary>The last resolution's result, or null before the first one ended.</summary>
    public DnsResult? LastResult => Volatile.Read(ref _live.LastResult) is var r && r >= 0 ? (DnsResult)r : null;

    /// <summary>Resolver-only: when to ask next (TimeProvider timestamp); 0 means now.</summary>
    internal long NextDue
    {
        get => _live.NextDue;
        set => _live.NextDue = value;
    }

    /// <summary>Resolver-only: the first failed resolution since the last good one (TimeProvider timestamp), or 0: <c>hold</c> counts from it.</summary>
    internal long FailingSince
    {
        get => _live.FailingSince;
        set => _live.FailingSince = value;
    }

    public long Resolutions(DnsResult result) => Interlocked.Read(ref _live.Results[(int)result]);

    internal void Count(DnsResult result)
    {
        Interlocked.Increment(ref _live.Results[(int)result]);
        Volatile.Write(ref _live.LastResult, (int)result);
    }

    /// <summary>The identity of the backend for <paramref name="address"/>: the entry and the address, e.g. <c>api.internal:8443@10.0.0.7</c>.</summary>
    internal Backend BackendFor(IPAddress address) =>
        new($"{Entry}@{address}", new IPEndPoint(address, Port), Weight) { HostName = Host };

    public static string ResultName(DnsResult result) => result switch
    {
        DnsResult.Ok => "ok",
        DnsResult.NxDomain => "nxdomain",
        DnsResult.Empty => "empty",
        _ => "failed",
    };

    /// <summary>What a reload carries: written by the resolver only, so compiling a snapshot (or a dry run) writes none of it.</summary>
    private sealed class Live
    {
        public readonly long[] Results = new long[4];
        public DnsAnswer Answer = DnsAnswer.None;
        public int LastResult = -1;
        public long NextDue;
        public long FailingSince;
    }
}
