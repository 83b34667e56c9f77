namespace LoadBalancer.Core.Cluster;

/// <summary><c>[cluster]</c> as compiled into a snapshot, with its live <see cref="State"/> (kept across reloads).</summary>
public sealed class ClusterSettings
{
    /// <summary>What <see cref="SyncInterval"/> is when lb.toml does not set <c>sync_interval</c>.</summary>
    public static readonly TimeSpan DefaultSyncInterval = TimeSpan.FromMilliseconds(100);

    /// <summary><c>redis</c>: <c>host:port</c>, or null when the section only names the instance.</summary>
    public string? Redis { get; init; }

    /// <summary><c>instance_id</c>, by default the host name: a label on usage and metrics, and the instance's name in Redis.</summary>
    public required string InstanceId { get; init; }

    /// <summary><c>sync_interval</c>: how often tokens are leased from Redis; sets the accuracy bound.</summary>
    public TimeSpan SyncInterval { get; init; } = DefaultSyncInterval;

    public required ClusterState State { get; init; }

    /// <summary>The host name, kept to the characters an <c>instance_id</c> may have (others become '-'), at most 64.</summary>
    public static string DefaultInstanceId()
    {
        var name = Environment.MachineName;
        var chars = new char[Math.Min(name.Length, 64)];
        for (var i = 0; i < chars.Length; i++)
        {
            var c = name[i];
            chars[i] = char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '-';
        }

        return chars.Length == 0 ? "lb" : new string(chars);
    }

    /// <summary>An instance counts as live while it synced within this long: <c>max(3s, 10 * sync_interval)</c>.</summary>
    public TimeSpan InstanceTtl => TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(3).Ticks, 10 * SyncInterval.Ticks));

    /// <summary>A round slower than this counts as Redis down: <c>max(sync_interval, 100ms)</c>.</summary>
    public TimeSpan RoundTimeout => TimeSpan.FromTicks(Math.Max(TimeSpan.FromMilliseconds(100).Ticks, SyncInterval.Ticks));
}
