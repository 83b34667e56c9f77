namespace LoadBalancer.Core.Config;

/// <summary>Reads a pool's <c>health</c>, <c>retries</c>, <c>outlier</c> and <c>slow_start</c> keys.</summary>
internal static partial class TomlConfigLoader
{
    private static readonly string[] HealthKeys = ["type", "path", "expect", "interval", "timeout", "rise", "fall", "all_down"];
    private static readonly string[] RetryKeys = ["attempts", "budget"];
    private static readonly string[] OutlierKeys = ["consecutive_failures", "base_ejection", "max_ejected_share"];

    private static void ReadPoolHealth(TomlNode table, string path, LbPoolSection pool, ConfigErrorList errors)
    {
        if (InlineTable(table, path, "health", HealthKeys, errors) is { } health)
        {
            var healthPath = Join(path, "health");
            pool.HealthPosition = health.Position;
            pool.HealthType = String(health, healthPath, "type", required: false, errors);
            pool.HealthPath = String(health, healthPath, "path", required: false, errors);
            pool.HealthExpect = String(health, healthPath, "expect", required: false, errors);
            pool.HealthInterval = String(health, healthPath, "interval", required: false, errors);
            pool.HealthTimeout = String(health, healthPath, "timeout", required: false, errors);
            pool.HealthRise = Integer(health, healthPath, "rise", errors);
            pool.HealthFall = Integer(health, healthPath, "fall", errors);
            pool.HealthAllDown = String(health, healthPath, "all_down", required: false, errors);
        }

        if (InlineTable(table, path, "retries", RetryKeys, errors) is { } retries)
        {
            var retriesPath = Join(path, "retries");
            pool.RetryAttempts = Integer(retries, retriesPath, "attempts", errors);
            pool.RetryBudget = Number(retries, retriesPath, "budget", errors);
        }

        if (InlineTable(table, path, "outlier", OutlierKeys, errors) is { } outlier)
        {
            var outlierPath = Join(path, "outlier");
            pool.OutlierConsecutiveFailures = Integer(outlier, outlierPath, "consecutive_failures", errors);
            pool.OutlierBaseEjection = String(outlier, outlierPath, "base_ejection", required: false, errors);
            pool.OutlierMaxEjectedShare = Number(outlier, outlierPath, "max_ejected_share", errors);
        }

        pool.SlowStart = String(table, path, "slow_start", required: false, errors);
    }

    /// <summary>A float, or an integer read as one (<c>budget = 1</c> is as clear as <c>budget = 1.0</c>).</summary>
    private static ConfigValue<double>? Number(TomlNode table, string path, string key, ConfigErrorList errors)
    {
        var node = table.Get(key);
        if (node is null)
        {
            return null;
        }

        if (node.Kind is not (TomlNodeKind.Float or TomlNodeKind.Integer))
        {
            errors.Add(node.Position, Join(path, key), $"must be a number, not {Describe(node.Kind)}");
            return null;
        }

        return new ConfigValue<double>(node.Double, node.Position);
    }
}
