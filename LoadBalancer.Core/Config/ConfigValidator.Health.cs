using System.Globalization;
using LoadBalancer.Core.Routing;

namespace LoadBalancer.Core.Config;

/// <summary>Checks of a pool's <c>health</c>, <c>retries</c>, <c>outlier</c> and <c>slow_start</c>.</summary>
internal static partial class ConfigValidator
{
    internal const int MaxRetryAttempts = 10;
    internal const int MaxRiseFall = 100;
    internal const int MaxConsecutiveFailures = 1000;

    private static void ValidatePoolHealth(LbPoolSection pool, ConfigErrorList errors)
    {
        string Path(string key) => TomlConfigLoader.Join(pool.Path, key);

        var http = true;
        if (pool.HealthType is { } type)
        {
            if (!TryParseHealthKind(type.Value, out var kind))
            {
                errors.Add(type.Position, Path("health.type"), $"must be \"tcp\" or \"http\", not \"{type.Value}\"");
            }

            http = kind == HealthCheckKind.Http;
        }
        else
        {
            http = false;
        }

        // No silent ignoring: a path or expect on a tcp check would suggest a check that does not happen.
        foreach (var (value, key) in pool.HealthPath is null && pool.HealthExpect is null ? [] : new[] { (pool.HealthPath, "path"), (pool.HealthExpect, "expect") })
        {
            if (value is not null && !http && (pool.HealthType is null || TryParseHealthKind(pool.HealthType.Value, out _)))
            {
                errors.Add(value.Position, Path($"health.{key}"), "only applies to type = \"http\" (the default type is \"tcp\")");
            }
        }

        if (pool.HealthPath is { } path && !IsHealthPath(path.Value))
        {
            errors.Add(path.Position, Path("health.path"), $"must be an origin-form target starting with '/' and without spaces or control characters, not \"{path.Value}\"");
        }

        if (pool.HealthExpect is { } expect && !TryParseStatusRange(expect.Value, out _, out _))
        {
            errors.Add(expect.Position, Path("health.expect"), $"must be a status or a range of statuses within 100..599, e.g. \"200\" or \"200-399\", not \"{expect.Value}\"");
        }

        CheckDuration(pool.HealthInterval, pool.Path, "health.interval", errors);
        CheckDuration(pool.HealthTimeout, pool.Path, "health.timeout", errors);
        if (pool.HealthTimeout is { } timeout && pool.HealthInterval is { } interval
            && ConfigSyntax.TryParseDuration(timeout.Value, out var t) && ConfigSyntax.TryParseDuration(interval.Value, out var i) && t > i)
        {
            errors.Add(timeout.Position, Path("health.timeout"), $"must not exceed health.interval ({interval.Value}): one check at a time per backend");
        }

        CheckRange(pool.HealthRise, pool.Path, "health.rise", 1, MaxRiseFall, errors);
        CheckRange(pool.HealthFall, pool.Path, "health.fall", 1, MaxRiseFall, errors);
        if (pool.HealthAllDown is { } allDown && !TryParseAllDown(allDown.Value, out _))
        {
            errors.Add(allDown.Position, Path("health.all_down"), $"must be \"fail\" or \"try-all\", not \"{allDown.Value}\"");
        }

        CheckRange(pool.RetryAttempts, pool.Path, "retries.attempts", 0, MaxRetryAttempts, errors);
        if (pool.RetryBudget is not null)
        {
            CheckShare(pool.RetryBudget, Path("retries.budget"), errors);
        }

        CheckRange(pool.OutlierConsecutiveFailures, pool.Path, "outlier.consecutive_failures", 0, MaxConsecutiveFailures, errors);
        CheckDuration(pool.OutlierBaseEjection, pool.Path, "outlier.base_ejection", errors);
        if (pool.OutlierMaxEjectedShare is not null)
        {
            CheckShare(pool.OutlierMaxEjectedShare, Path("outlier.max_ejected_share"), errors);
        }

        CheckDuration(pool.SlowStart, pool.Path, "slow_start", errors);
    }

    private static void CheckShare(ConfigValue<double>? value, string path, ConfigErrorList errors)
    {
        if (value is not null && !(value.Value >= 0 && value.Value <= 1))
        {
            errors.Add(value.Position, path, $"must be a share 0.0..1.0, not {value.Value.ToString(CultureInfo.InvariantCulture)}");
        }
    }

    internal static bool TryParseHealthKind(string value, out HealthCheckKind kind)
    {
        kind = value == "http" ? HealthCheckKind.Http : HealthCheckKind.Tcp;
        return value is "tcp" or "http";
    }

    internal static bool TryParseAllDown(string value, out AllDownPolicy policy)
    {
        policy = value == "try-all" ? AllDownPolicy.TryAll : AllDownPolicy.Fail;
        return value is "fail" or "try-all";
    }

    /// <summary><c>"200"</c> or <c>"200-399"</c>, within 100..599, low &lt;= high.</summary>
    internal static bool TryParseStatusRange(string value, out int min, out int max)
    {
        min = max = 0;
        var dash = value.IndexOf('-', StringComparison.Ordinal);
        var low = dash < 0 ? value : value[..dash];
        var high = dash < 0 ? value : value[(dash + 1)..];
        return low.Length == 3 && high.Length == 3
            && int.TryParse(low, NumberStyles.None, CultureInfo.InvariantCulture, out min)
            && int.TryParse(high, NumberStyles.None, CultureInfo.InvariantCulture, out max)
            && min >= 100 && max <= 599 && min <= max;
    }

    private static bool IsHealthPath(string value)
    {
        if (value.Length == 0 || value[0] != '/' || value.Length > 1024)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (c <= ' ' || c >= 0x7F)
            {
                return false;
            }
        }

        return true;
    }
}
