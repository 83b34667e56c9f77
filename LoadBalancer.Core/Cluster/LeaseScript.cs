namespace LoadBalancer.Core.Cluster;

/// <summary>
/// The one Lua script a sync round runs in Redis (atomically, by Redis's clock, so instances need no synchronized
/// clocks). KEYS[1] is the sorted set of live instances (score: the time each last synced, in microseconds); KEYS[2..]
/// are the tenants' buckets. ARGV: the instance id, the instance TTL in microseconds, then per tenant
/// <c>requests_per_second</c>, capacity and the tokens wanted.
/// </summary>
/// <remarks>
/// Each bucket is GCRA, as <see cref="Tenancy.TokenBucket"/> is: one number, the theoretical arrival time (TAT) of the
/// next token, in microseconds. Free tokens at <c>now</c> are <c>(capacity * interval - (max(TAT, now) - now)) / interval</c>;
/// granting n of them moves TAT on by n intervals. A key expires once its bucket would be full again, so idle tenants
/// cost Redis nothing. Returns the live instance count, then the grant of each tenant in order.
/// </remarks>
internal static class LeaseScript
{
    public const string InstancesKey = "lb:instances";

    public const string RateKeyPrefix = "lb:rate:";

    public const string Text = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local ttl = tonumber(ARGV[2])
        redis.call('ZADD', KEYS[1], now, ARGV[1])
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. string.format('%.0f', now - ttl))
        redis.call('PEXPIRE', KEYS[1], math.ceil(ttl / 1000))
        local out = { redis.call('ZCARD', KEYS[1]) }
        for i = 2, #KEYS do
          local a = 3 + (i - 2) * 3
          local interval = 1000000 / tonumber(ARGV[a])
          local window = tonumber(ARGV[a + 1]) * interval
          local want = tonumber(ARGV[a + 2])
          local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
          if tat < now then tat = now end
          local n = math.floor((window - (tat - now)) / interval + 1e-9)
          if n > want then n = want end
          if n > 0 then
            tat = tat + n * interval
            redis.call('SET', KEYS[i], string.format('%.3f', tat), 'PX', math.ceil(window / 1000) + 1000)
          else
            n = 0
          end
          out[#out + 1] = n
        end
        return out
        """;

    /// <summary>At most this many tenants per script call, so one call never holds Redis (single-threaded) for long.</summary>
    public const int MaxTenantsPerCall = 256;
}
