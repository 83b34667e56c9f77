namespace LoadBalancer.Core.Config;

/// <summary><c>[[consumers]]</c>: names, tenants, keys (unique ids within the tenant), limits, quota and subscriptions.</summary>
internal static partial class ConfigValidator
{
    private const long MaxQuota = 1_000_000_000_000;

    private static readonly string[] QuotaPeriods = ["minute", "hour", "day", "month"];

    private static void ValidateUsage(LbUsageSection? usage, ConfigErrorList errors)
    {
        if (usage is null)
        {
            return;
        }

        if (usage.File is { Value.Length: 0 } file)
        {
            errors.Add(file.Position, "usage.path", "must be a file path, not empty");
        }

        if (usage.Retention is { } retention && !ConfigSyntax.TryParseRetention(retention.Value, out _))
        {
            errors.Add(retention.Position, "usage.retention", $"\"{retention.Value}\" must be a whole number of days (\"400d\") or a duration (\"12h\")");
        }

        CheckDuration(usage.FlushInterval, "usage.flush_interval", errors);
    }

    private static void ValidateConsumers(LbConfigFile file, Dictionary<LbTenantSection, Dictionary<string, string>> keyIds, ConfigErrorList errors)
    {
        _ = UniqueNames(file.Consumers, c => c.Name, c => c.Path, "consumer", errors);
        foreach (var consumer in file.Consumers)
        {
            string P(string key) => TomlConfigLoader.Join(consumer.Path, key);
            if (consumer.Name is { } name && name.Value.Length > 0 && (name.Value.Length > 64 || !ConfigSyntax.IsToken(name.Value)))
            {
                errors.Add(name.Position, P("name"), $"\"{name.Value}\" must be 1..64 characters without spaces or separators (an HTTP token)");
            }

            var tenant = consumer.Tenant is { } tenantName ? file.Tenants.FirstOrDefault(t => t.Name?.Value == tenantName.Value) : null;
            if (consumer.Tenant is { } missing && tenant is null)
            {
                errors.Add(missing.Position, P("tenant"), $"no tenant named \"{missing.Value}\"");
            }

            // A tenant without keys of its own has no entry yet: its consumers share one, so their key ids stay unique too.
            var ids = tenant is null ? new Dictionary<string, string>(StringComparer.Ordinal)
                : keyIds.TryGetValue(tenant, out var known) ? known : keyIds[tenant] = new Dictionary<string, string>(StringComparer.Ordinal);
            ValidateKeyEntries(consumer.Keys, ids, errors);
            if (consumer.KeysFile is { } keysFile)
            {
                ReadKeysFile(keysFile, P("keys_file"), BaseDirectory(errors), ids, consumer.FileKeys, errors);
            }

            if (consumer.Keys is not { Count: > 0 } && consumer.KeysFile is null)
            {
                errors.AddRequired(consumer.Position, P("keys"), "is required: a consumer is known by its keys (keys = [ { id, sha256 } ] or keys_file)");
            }

            CheckRange(consumer.RequestsPerSecond, consumer.Path, "rate_limit.requests_per_second", 1, MaxRate, errors);
            CheckRange(consumer.Burst, consumer.Path, "rate_limit.burst", 1, MaxRate, errors);
            CheckRange(consumer.QuotaRequests, consumer.Path, "quota.requests", 1, MaxQuota, errors);
            if (consumer.QuotaPeriod is { } period && !QuotaPeriods.Contains(period.Value))
            {
                errors.Add(period.Position, P("quota.period"), $"must be \"minute\", \"hour\", \"day\" or \"month\", not \"{period.Value}\"");
            }

            if (consumer.Routes is { } routes && tenant is not null)
            {
                var seen = new HashSet<string>(StringComparer.Ordinal);
                for (var i = 0; i < routes.Count; i++)
                {
                    if (routes[i] is not { } route)
                    {
                        continue;
                    }

                    if (!tenant.Routes.Any(r => r.Name?.Value == route.Value))
                    {
                        errors.Add(route.Position, $"{P("routes")}[{i}]", $"tenant \"{tenant.Name?.Value}\" has no route named \"{route.Value}\"");
                    }
                    else if (!seen.Add(route.Value))
                    {
                        errors.Add(route.Position, $"{P("routes")}[{i}]", $"\"{route.Value}\" is listed twice");
                    }
                }
            }
        }
    }
}
