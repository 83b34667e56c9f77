using LoadBalancer.Core.Routing;

namespace LoadBalancer.Host;

/// <summary>Says what a reload changed (listeners, tenants, pools, backends added/removed), for the reload log line.</summary>
internal static class SnapshotDiff
{
    /// <param name="replaced">Live backend states the new snapshot changed (their old values), since the reload wrote them already.</param>
    public static string Describe(RuntimeSnapshot before, RuntimeSnapshot after, IReadOnlyList<(BackendState State, Backend Previous)> replaced)
    {
        var parts = new List<string>();
        Compare("listeners", before.Listeners.Select(l => $"{l.Name}@{l.Listen}"), after.Listeners.Select(l => $"{l.Name}@{l.Listen}"), parts);
        Compare("tenants", before.Tenants.Values.Select(t => $"{t.Name}->{t.Pool.Name}"), after.Tenants.Values.Select(t => $"{t.Name}->{t.Pool.Name}"), parts);
        Compare("pools", before.Pools.Keys, after.Pools.Keys, parts);
        Compare("backends", Backends(before, replaced), Backends(after, []), parts);
        return parts.Count == 0 ? "no routing change" : string.Join("; ", parts);
    }

    private static IEnumerable<string> Backends(RuntimeSnapshot snapshot, IReadOnlyList<(BackendState State, Backend Previous)> replaced)
        => snapshot.Pools.Values.SelectMany(p => p.Backends.Select(b => $"{p.Name}/{b.Config.Address}(w{Before(b, replaced).Weight})"));

    private static Backend Before(BackendState state, IReadOnlyList<(BackendState State, Backend Previous)> replaced)
    {
        foreach (var (changed, previous) in replaced)
        {
            if (ReferenceEquals(changed, state))
            {
                return previous;
            }
        }

        return state.Config;
    }

    private static void Compare(string what, IEnumerable<string> before, IEnumerable<string> after, List<string> parts)
    {
        var old = before.ToHashSet(StringComparer.Ordinal);
        var now = after.ToHashSet(StringComparer.Ordinal);
        var added = now.Except(old).Order().ToList();
        var removed = old.Except(now).Order().ToList();
        if (added.Count > 0)
        {
            parts.Add($"{what} added: {string.Join(", ", added)}");
        }

        if (removed.Count > 0)
        {
            parts.Add($"{what} removed: {string.Join(", ", removed)}");
        }
    }
}
