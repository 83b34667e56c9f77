using LoadBalancer.Core.Consumers;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Core.Config;

/// <summary><c>[[consumers]]</c> into their tenant: their keys join its access keys, each pointing at its consumer.</summary>
internal static partial class SnapshotCompiler
{
    /// <summary>Every (consumer or none) x (route or none) cell of the tenant, in the order <see cref="TenantSnapshot.CellOf"/> reads them.</summary>
    private static Usage.UsageCell[] CompileCells(TenantState state, ConsumerSnapshot[] consumers, Routes.RouteTable routes)
    {
        var cells = new Usage.UsageCell[(consumers.Length + 1) * (routes.Count + 1)];
        var i = 0;
        for (var c = -1; c < consumers.Length; c++)
        {
            for (var r = -1; r < routes.Count; r++)
            {
                cells[i++] = state.Cell(c < 0 ? "" : consumers[c].Name, r < 0 ? "" : routes.Routes[r].Name!);
            }
        }

        return cells;
    }

    /// <summary>
    /// The tenant's consumers, with their keys appended to <paramref name="keys"/>. A consumer's bucket is kept across a
    /// reload while its rate_limit is unchanged, and its quota counter while the period is (a new limit applies to
    /// the count so far); both like the tenant's own.
    /// </summary>
    private static ConsumerSnapshot[] CompileConsumers(string tenant, LbTenantSection section, LbConfigFile file, TenantState state, TenantSnapshot? old, List<AccessKey> keys)
    {
        var consumers = new List<ConsumerSnapshot>();
        foreach (var entry in file.Consumers)
        {
            if (entry.Tenant!.Value != tenant)
            {
                continue;
            }

            var name = entry.Name!.Value;
            ConsumerSnapshot? previous = null;
            foreach (var candidate in old?.Consumers ?? [])
            {
                if (candidate.Name == name)
                {
                    previous = candidate;
                }
            }

            bool[]? subscribed = null;
            if (entry.Routes is { } routes)
            {
                subscribed = new bool[section.Routes.Count];
                for (var i = 0; i < section.Routes.Count; i++)
                {
                    subscribed[i] = routes.Any(r => r?.Value == section.Routes[i].Name?.Value);
                }
            }

            TokenBucket? limiter = null;
            if (entry.RequestsPerSecond is { } rps)
            {
                var burst = entry.Burst?.Value ?? rps.Value;
                limiter = previous?.RateLimiter is { } kept && kept.RequestsPerSecond == rps.Value && kept.Burst == burst ? kept : new TokenBucket(rps.Value, burst);
            }

            QuotaCounter? quota = null;
            if (entry.QuotaRequests is not null && entry.QuotaPeriod is { } periodName)
            {
                var period = QuotaPeriods.Parse(periodName.Value);
                quota = previous?.Quota is { } counter && counter.Period == period ? counter : new QuotaCounter(period, TimeProvider.System);
            }

            var consumer = new ConsumerSnapshot(name, tenant, subscribed)
            {
                Index = consumers.Count,
                RateLimiter = limiter,
                QuotaLimit = entry.QuotaRequests?.Value ?? 0,
                Quota = quota,
                Usage = state.ConsumerUsage(name),
            };
            consumers.Add(consumer);
            foreach (var key in entry.Keys ?? [])
            {
                ConfigValidator.TryParseSha256(key.Sha256!.Value, out var hash);
                keys.Add(new AccessKey(key.Id!.Value, hash, state.KeyUsage(key.Id.Value), consumer));
            }

            foreach (var line in entry.FileKeys)
            {
                if (AccessKey.From(line, state.KeyUsage(line.Id), consumer) is { } key)
                {
                    keys.Add(key);
                }
            }
        }

        return [.. consumers];
    }
}
