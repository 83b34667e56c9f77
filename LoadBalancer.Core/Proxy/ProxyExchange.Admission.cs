using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using LoadBalancer.Core.Consumers;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Routes;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;
using LoadBalancer.Core.Transport;

namespace LoadBalancer.Core.Proxy;

internal sealed partial class ProxyExchange
{
    /// <summary>
    /// Starts the request for <paramref name="tenant"/> and runs admission, before anything is sent to a backend.
    /// <paramref name="connectionTenant"/> is the tenant the connection counts for (max_connections): its latest
    /// request's, moved here when this request is another tenant's. A refusal is counted here; the caller answers it.
    /// The request's route is looked up here (<see cref="TenantSnapshot.RouteOf"/>): its limits replace the tenant's,
    /// and no route without a fallback pool is a 404, answered after the access key is checked so that a client
    /// without a valid key learns nothing about the tenant's paths.
    /// </summary>
    public Admission Admit(
        TenantSnapshot tenant,
        ListenerSnapshot listener,
        in RequestView request,
        ref TenantState? connectionTenant)
    {
        var route = tenant.RouteOf(request);
        Route = route;
        var state = tenant.State;
        Tenant = tenant;
        _started = Stopwatch.GetTimestamp();
        _responseStatus = 0;
        _bytesIn = request.WireLength;
        _bytesOut = 0;
        _bodyBytes = 0;
        _maxBodyBytes = route?.MaxBodyBytes ?? tenant.MaxBodyBytes;
        BodyTooLarge = false;
        KeyHeaderIndex = -1;
        Key = null;
        Consumer = null;
        _quotaWindow = null;
        _refusal = -1;
        _rateLimitLength = 0;
        RetryAfterSeconds = 0;
        Backend = null;
        _accessLog = listener.AccessLog;
        if (_accessLog is not null)
        {
            CaptureRequestLine(request);
        }

        if (!ReferenceEquals(state, connectionTenant))
        {
            if (!state.TryAttachConnection(tenant.MaxConnections))
            {
                return Refuse(state, RefusalReason.MaxConnections, CloseReason.TenantOverLimit, LocalReplies.MaxConnections);
            }

            connectionTenant?.DetachConnection();
            connectionTenant = state;
        }

        if (tenant.AccessKeys.Length > 0)
        {
            var status = CheckAccessKey(tenant, request.Source, request.Fields);
            if (status != 0)
            {
                return status switch
                {
                    401 => Refuse(state, RefusalReason.MissingKey, CloseReason.Unauthorized, LocalReplies.MissingKey),
                    KeyPendingStatus => Refuse(state, RefusalReason.KeyPending, CloseReason.Unauthorized, LocalReplies.KeyPending),
                    KeyExpiredStatus => Refuse(state, RefusalReason.KeyExpired, CloseReason.Unauthorized, LocalReplies.KeyExpired),
                    _ => Refuse(state, RefusalReason.InvalidKey, CloseReason.Unauthorized, LocalReplies.InvalidKey),
                };
            }
        }

        // A key of a [[consumers]] entry names the consumer: its subscriptions, rate limit and quota come on top of
        // the tenant's limits, and every answer to it carries the RateLimit headers of the limit that binds first.
        Consumer = Key?.Consumer;
        if (Consumer is null)
        {
            return AdmitRoute(tenant, route, request);
        }

        var admission = AdmitRoute(tenant, route, request);
        StampRateLimit(Consumer);
        return admission;
    }

    /// <summary>The checks after the access key: route, subscription, rate limits, quota, body size, in-flight.</summary>
    private Admission AdmitRoute(TenantSnapshot tenant, RouteSnapshot? route, in RequestView request)
    {
        var state = tenant.State;
        if (route is null)
        {
            return Refuse(state, RefusalReason.NoRoute, CloseReason.NoRoute, LocalReplies.NoRoute);
        }

        var consumer = Consumer;
        if (consumer is not null && !consumer.Subscribes(route))
        {
            consumer.Usage.CountNotSubscribed();
            return Refuse(state, RefusalReason.NotSubscribed, CloseReason.Unauthorized, LocalReplies.NotSubscribed);
        }

        // A route's own rate_limit replaces the tenant's (local or cluster-wide) for the route's requests.
        if (route.RateLimiter is { } routeLimiter ? !routeLimiter.TryAcquire()
            : tenant.ClusterLimiter is { } shared ? !shared.TryAcquire() : tenant.RateLimiter is { } limiter && !limiter.TryAcquire())
        {
            state.CountRateLimited();
            _refusal = Usage.UsageCell.RateLimitedSlot;
            return Admission.Refused(LocalReplies.RateLimited, CloseReason.RateLimited);
        }

        if (consumer is not null)
        {
            if (consumer.RateLimiter is { } own && !own.TryAcquire())
            {
                consumer.Usage.CountRateLimited();
                RetryAfterSeconds = 1;
                return Refuse(state, RefusalReason.ConsumerRateLimited, CloseReason.RateLimited, LocalReplies.ConsumerRateLimited);
            }

            if (consumer.Quota is { } quota)
            {
                // One atomic add on the current window; over the limit, the request is taken back and refused.
                _quotaUsed = quota.Take(out var window);
                _quotaWindow = window;
                if (_quotaUsed > consumer.QuotaLimit)
                {
                    QuotaCounter.Give(window);
                    _quotaUsed--;
                    _quotaWindow = null;
                    consumer.Usage.CountQuotaExceeded();
                    RetryAfterSeconds = quota.SecondsLeft(window);
                    return Refuse(state, RefusalReason.QuotaExceeded, CloseReason.RateLimited, LocalReplies.QuotaExceeded);
                }
            }
        }

        if (_maxBodyBytes >= 0 && request.ContentLength > _maxBodyBytes)
        {
            ReturnQuota();
            return Refuse(state, RefusalReason.BodyTooLarge, CloseReason.BodyTooLarge, LocalReplies.BodyTooLarge);
        }

        if (!state.TryEnterInFlight(tenant.MaxInFlight, out _inFlightToken))
        {
            ReturnQuota();
            return Refuse(state, RefusalReason.MaxInFlight, CloseReason.TenantOverLimit, LocalReplies.MaxInFlight);
        }

        _inFlight = true;
        return Admission.Admitted;
    }

    private Admission Refuse(TenantState state, RefusalReason reason, CloseReason closeReason, LocalReplyCause cause)
    {
        _refusal = (int)reason;
        state.CountRefused(reason);
        return Admission.Refused(cause, closeReason);
    }

    /// <summary>
    /// 0 when a configured key was presented, 401 when none was (or the header is ambiguous), 403 when it matches no key,
    /// <see cref="KeyPendingStatus"/> or <see cref="KeyExpiredStatus"/> when it matches one that is not admitted yet or any more.
    /// The key is hashed into a stack buffer and compared with every configured hash in constant time, without an early
    /// exit, so neither the key nor which entry matched shows in the timing.
    /// </summary>
    private int CheckAccessKey(TenantSnapshot tenant, ReadOnlySpan<byte> source, ReadOnlySpan<HeaderLine> headers)
    {
        var index = -1;
        for (var i = 0; i < headers.Length; i++)
        {
            if (Ascii.EqualsIgnoreCase(source.Slice(headers[i].NameStart, headers[i].NameLength), tenant.AccessKeyHeader))
            {
                if (index >= 0)
                {
                    return 401;
                }

                index = i;
            }
        }

        if (index < 0)
        {
            return 401;
        }

        var key = source.Slice(headers[index].ValueStart, headers[index].ValueLength);
        if (tenant.AccessKeyIsBearer)
        {
            if (key.Length <= 7 || !Ascii.EqualsIgnoreCase(key[..7], "Bearer "u8))
            {
                return 401;
            }

            key = key[7..].Trim((byte)' ');
        }

        if (key.IsEmpty)
        {
            return 401;
        }

        // The header is stripped before forwarding whatever the outcome; only the key id goes further.
        KeyHeaderIndex = index;
        Span<byte> hash = stackalloc byte[32];
        AccessKeyHashes.Sha256(key, hash);
        AccessKey? match = null;
        var candidates = tenant.AccessKeys;
        if (tenant.KeysByHash is { } byHash && !byHash.TryGetValue(System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(hash), out candidates))
        {
            candidates = [];
        }
        foreach (var candidate in candidates)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, candidate.Sha256))
            {
                match = candidate;
            }
        }

        if (match is null)
        {
            return 403;
        }

        // The key's lifecycle (issue 14): a pending or expired key is one of the tenant's, but not admitted (both 403,
        // told apart by reason). The clock is read only for keys that carry an expiry.
        if (match.Pending)
        {
            return KeyPendingStatus;
        }

        if (match.ExpiresUtcTicks != 0 && DateTime.UtcNow.Ticks >= match.ExpiresUtcTicks)
        {
            return KeyExpiredStatus;
        }

        Key = match;
        return 0;
    }

    // CheckAccessKey's answers beside 0, 401 and 403: 403s with their own reason.
    private const int KeyPendingStatus = 1;
    private const int KeyExpiredStatus = 2;

    private void CaptureRequestLine(in RequestView request)
    {
        var method = request.MethodName;
        var target = request.Target;
        target = target[..Math.Min(target.Length, Metrics.AccessLogWriter.MaxTargetBytes)];
        var line = EngineBuffers.Rent(method.Length + target.Length);
        method.CopyTo(line);
        target.CopyTo(line.AsSpan(method.Length));
        _logLine = line;
        _logMethodLength = method.Length;
        _logTargetLength = target.Length;
        _startedUtc = DateTime.UtcNow.Ticks;
    }
}
