namespace LoadBalancer.Core.Config;

/// <summary><c>[[consumers]]</c>.</summary>
internal static partial class TomlConfigLoader
{
    private static readonly string[] ConsumerKeys = ["name", "tenant", "keys", "keys_file", "rate_limit", "quota", "routes"];
    private static readonly string[] QuotaKeys = ["requests", "period"];

    private static LbConsumerSection ReadConsumer(TomlNode table, string path, ConfigErrorList errors)
    {
        CheckKeys(table, path, ConsumerKeys, errors);
        var consumer = new LbConsumerSection
        {
            Path = path,
            Position = table.Position,
            Name = String(table, path, "name", required: true, errors),
            Tenant = String(table, path, "tenant", required: true, errors),
            KeysFile = String(table, path, "keys_file", required: false, errors),
            Keys = ReadKeyEntries(table, path, "keys", errors),
        };

        consumer.Routes = StringArray(table, path, "routes", required: false, errors, out var routesPosition);
        consumer.RoutesPosition = routesPosition;
        if (ReadRateLimit(table, path, errors) is { } rateLimit)
        {
            (consumer.RateLimitPosition, consumer.RequestsPerSecond, consumer.Burst) = rateLimit;
        }

        if (InlineTable(table, path, "quota", QuotaKeys, errors) is { } quota)
        {
            var quotaPath = Join(path, "quota");
            consumer.QuotaPosition = quota.Position;
            consumer.QuotaRequests = Integer(quota, quotaPath, "requests", errors);
            consumer.QuotaPeriod = String(quota, quotaPath, "period", required: true, errors);
            if (quota.Get("requests") is null)
            {
                errors.AddRequired(quota.Position, Join(quotaPath, "requests"));
            }
        }

        return consumer;
    }

    /// <summary><c>[ { id = "...", sha256 = "..." } ]</c> under <paramref name="key"/> (a tenant's access_keys, a consumer's keys).</summary>
    private static List<LbAccessKeyEntry>? ReadKeyEntries(TomlNode table, string path, string key, ConfigErrorList errors)
    {
        var keysPath = Join(path, key);
        if (table.Get(key) is not { } keys)
        {
            return null;
        }

        if (keys.Kind != TomlNodeKind.Array)
        {
            errors.Add(keys.Position, keysPath, "must be an array of tables, e.g. [ { id = \"billing\", sha256 = \"<64 hex>\" } ]");
            return null;
        }

        var entries = new List<LbAccessKeyEntry>();
        for (var i = 0; i < keys.Items.Count; i++)
        {
            var item = keys.Items[i];
            var itemPath = $"{keysPath}[{i}]";
            if (item.Kind != TomlNodeKind.Table)
            {
                errors.Add(item.Position, itemPath, "must be a table, e.g. { id = \"billing\", sha256 = \"<64 hex>\" }");
                continue;
            }

            CheckKeys(item, itemPath, AccessKeyKeys, errors);
            entries.Add(new LbAccessKeyEntry
            {
                Path = itemPath,
                Position = item.Position,
                Id = String(item, itemPath, "id", required: true, errors),
                Sha256 = String(item, itemPath, "sha256", required: true, errors),
            });
        }

        return entries;
    }
}
