namespace LoadBalancer.Core.Config;

/// <summary><c>[cluster]</c>: the Redis address, the instance id and the sync interval.</summary>
internal static partial class ConfigValidator
{
    private const int MaxInstanceIdLength = 64;
    private static readonly TimeSpan MinSyncInterval = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan MaxSyncInterval = TimeSpan.FromSeconds(10);

    private static void ValidateCluster(LbConfigFile file, ConfigErrorList errors)
    {
        if (file.Cluster is not { } cluster)
        {
            return;
        }

        if (cluster.Redis is { } redis && !ConfigSyntax.TryParseRedis(redis.Value))
        {
            errors.Add(redis.Position, "cluster.redis", $"\"{redis.Value}\" {ConfigSyntax.RedisFormat}");
        }

        // A label value in Prometheus, a member of a Redis set and a JSON string: kept to characters safe in all three.
        if (cluster.InstanceId is { } id && !IsInstanceId(id.Value))
        {
            errors.Add(id.Position, "cluster.instance_id", $"must be 1..{MaxInstanceIdLength} letters, digits, '.', '_' or '-', not \"{id.Value}\"");
        }

        if (cluster.SyncInterval is { } interval)
        {
            if (cluster.Redis is null)
            {
                errors.Add(interval.Position, "cluster.sync_interval", "applies only with cluster.redis (it is how often tokens are leased from Redis)");
            }
            else if (!ConfigSyntax.TryParseDuration(interval.Value, out var duration) || duration < MinSyncInterval || duration > MaxSyncInterval)
            {
                errors.Add(interval.Position, "cluster.sync_interval", $"\"{interval.Value}\" must be a duration from 10ms to 10s, e.g. \"100ms\"");
            }
        }
    }

    internal static bool IsInstanceId(string value)
    {
        if (value.Length is 0 or > MaxInstanceIdLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }
}
