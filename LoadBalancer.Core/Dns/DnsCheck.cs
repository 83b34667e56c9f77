using LoadBalancer.Core.Config;
using LoadBalancer.Core.Routing;

namespace LoadBalancer.Core.Dns;

/// <summary>
/// <c>lb check</c>'s look at the backend names: each is resolved once, and one that does not resolve now is a warning,
/// never an error (lb starts without it, and its pool answers 503 until it resolves). All names at once, so a check
/// with the name servers down takes one query timeout, not one per name (systemd runs it before every start).
/// </summary>
public static class DnsCheck
{
    public static async Task<IReadOnlyList<ConfigError>> WarningsAsync(RuntimeSnapshot snapshot, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var targets = snapshot.Pools.Values.OrderBy(p => p.Name, StringComparer.Ordinal).SelectMany(p => p.DnsTargets).ToArray();
        if (targets.Length == 0)
        {
            return [];
        }

        DnsClient.LookupClient client;
        try
        {
            client = DnsLookup.CreateClient(snapshot.Dns);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // No name server configured at all: still only a warning, once per name.
            return [.. targets.Select(t => Warning(snapshot, t, $"failed: {ex.Message}"))];
        }

        var outcomes = await Task.WhenAll(targets.Select(t => DnsLookup.ResolveAsync(client, t.Host, cancellationToken))).ConfigureAwait(false);
        var warnings = new List<ConfigError>();
        for (var i = 0; i < targets.Length; i++)
        {
            if (outcomes[i].Result != DnsResult.Ok)
            {
                warnings.Add(Warning(snapshot, targets[i], $"{DnsTarget.ResultName(outcomes[i].Result)}: {outcomes[i].Reason}"));
            }
        }

        return warnings;
    }

    private static ConfigError Warning(RuntimeSnapshot snapshot, DnsTarget target, string problem) =>
        new(snapshot.SourcePath, target.Source.Line, target.Source.Column, target.Source.Path,
            $"\"{target.Entry}\" does not resolve now ({problem}); lb starts anyway, and pool \"{target.Pool}\" gets no backend from it (503 when it has no other) until it resolves");
}
