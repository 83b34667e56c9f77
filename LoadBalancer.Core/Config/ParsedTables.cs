namespace LoadBalancer.Core.Config;

/// <summary>
/// What a load read from each <c>[[tenants]]</c> and <c>[[pools]]</c> element of the file, by its place in the array,
/// kept with the snapshot it became so that the next reload can take an unchanged element's section as it is instead of
/// parsing and reading it again (issue 20: at 10,000 tenants that was ~27 MB of tree and ~18 MB of sections per reload
/// for a one-tenant change). An element is reused only when its source text (<see cref="Chunk{T}.Hash"/>), its first
/// line and its index are the same, so every position and path in it (what errors point at) is still right.
/// </summary>
internal sealed class ParsedTables(ParsedTables.Chunk<LbTenantSection>[] tenants, ParsedTables.Chunk<LbPoolSection>[] pools, int reused)
{
    /// <summary>One element: its first line, a digest of its text, and its section (null when it must be read each time).</summary>
    internal readonly record struct Chunk<T>(int Line, UInt128 Hash, T? Section)
        where T : class;

    public Chunk<LbTenantSection>[] Tenants { get; } = tenants;

    public Chunk<LbPoolSection>[] Pools { get; } = pools;

    /// <summary>How many sections this load took from the previous one (tests and the bench read it).</summary>
    public int Reused { get; } = reused;
}
