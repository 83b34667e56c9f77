using System.Globalization;
using StackExchange.Redis;

namespace LoadBalancer.Core.Cluster;

/// <summary>
/// The shared buckets in one Redis, through StackExchange.Redis. Connecting starts at construction and never blocks
/// the caller; the multiplexer reconnects by itself after Redis goes away. While it is disconnected every call fails at
/// once (<see cref="BacklogPolicy.FailFast"/>: nothing is queued to be sent later, when its tokens would be stale).
/// </summary>
internal sealed class RedisLeaseStore : ILeaseStore
{
    private static readonly RedisKey InstancesKey = LeaseScript.InstancesKey;

    private readonly Task<ConnectionMultiplexer> _connecting;

    /// <param name="address"><c>host:port</c>.</param>
    public RedisLeaseStore(string address)
    {
        Address = address;
        var options = new ConfigurationOptions
        {
            AbortOnConnectFail = false,
            BacklogPolicy = BacklogPolicy.FailFast,
            ConnectTimeout = (int)ConnectTimeout.TotalMilliseconds,
            ConnectRetry = 1,
            // The multiplexer's own timeouts only bound what it keeps; each call is bounded by its caller's timeout.
            AsyncTimeout = 2000,
            SyncTimeout = 2000,
            ReconnectRetryPolicy = new LinearRetry(500),
            KeepAlive = 5,
            ClientName = "lb",
        };
        options.EndPoints.Add(address);
        _connecting = ConnectionMultiplexer.ConnectAsync(options);
    }

    /// <summary>The first connect may take this long (a round's own timeout is shorter); later ones are the multiplexer's.</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(1);

    public string Address { get; }

    public async Task<LeaseResult> LeaseAsync(string instanceId, TimeSpan instanceTtl, IReadOnlyList<LeaseRequest> requests, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var database = await DatabaseAsync(timeout, cancellationToken).ConfigureAwait(false);
        var ttl = ((long)instanceTtl.TotalMicroseconds).ToString(CultureInfo.InvariantCulture);
        var grants = new long[requests.Count];
        var instances = 1;
        var start = 0;
        do
        {
            var count = Math.Min(LeaseScript.MaxTenantsPerCall, requests.Count - start);
            var keys = new RedisKey[count + 1];
            var values = new RedisValue[2 + (3 * count)];
            keys[0] = InstancesKey;
            values[0] = instanceId;
            values[1] = ttl;
            for (var i = 0; i < count; i++)
            {
                var request = requests[start + i];
                keys[i + 1] = request.Key;
                values[2 + (3 * i)] = request.RequestsPerSecond;
                values[3 + (3 * i)] = request.Capacity;
                values[4 + (3 * i)] = request.Want;
            }

            var reply = (RedisResult[])(await database.ScriptEvaluateAsync(LeaseScript.Text, keys, values)
                .WaitAsync(timeout, cancellationToken).ConfigureAwait(false))!;
            instances = (int)reply[0];
            for (var i = 0; i < count; i++)
            {
                grants[start + i] = (long)reply[i + 1];
            }

            start += count;
        }
        while (start < requests.Count);

        return new LeaseResult(instances, grants);
    }

    public async Task LeaveAsync(string instanceId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var database = await DatabaseAsync(timeout, cancellationToken).ConfigureAwait(false);
        await database.SortedSetRemoveAsync(InstancesKey, instanceId).WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
    }

    private async Task<IDatabase> DatabaseAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var connection = await _connecting.WaitAsync(ConnectTimeout + timeout, cancellationToken).ConfigureAwait(false);
        if (!connection.IsConnected)
        {
            throw new IOException($"not connected to {Address}");
        }

        return connection.GetDatabase();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            // Bounded: with AbortOnConnectFail off, the first connect ends (connected or not) after ConnectTimeout.
            var connection = await _connecting.WaitAsync(ConnectTimeout + ConnectTimeout).ConfigureAwait(false);
            await connection.DisposeAsync().ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A first connect still running: close the multiplexer when it ends, or it would go on reconnecting. The
            // continuation only runs on success, so a failed connect leaves no unobserved exception behind.
            _ = _connecting.ContinueWith(static task => task.Result.Dispose(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
        }
        catch (RedisException)
        {
            // Best-effort teardown: a connect that failed has nothing to close.
        }
    }
}
