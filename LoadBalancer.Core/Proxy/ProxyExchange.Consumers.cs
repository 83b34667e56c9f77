using System.Buffers.Text;
using System.Diagnostics;
using LoadBalancer.Core.Consumers;

namespace LoadBalancer.Core.Proxy;

/// <summary>
/// The consumer side of a request: its quota taken back when a later check refuses, and the IETF RateLimit headers
/// (draft-ietf-httpapi-ratelimit-headers) of the consumer limit that binds first, encoded once per request into a
/// buffer of this exchange, for the response head and lb's own answers alike.
/// </summary>
internal sealed partial class ProxyExchange
{
    private const int RateLimitBytes = 192;

    private QuotaCounter.Window? _quotaWindow;
    private long _quotaUsed;
    private byte[]? _rateLimit;
    private int _rateLimitLength;

    /// <summary>The consumer whose key the request presented; null for tenant keys and key-less tenants.</summary>
    public ConsumerSnapshot? Consumer { get; private set; }

    /// <summary>For a 429 of the consumer's limits: seconds until it may try again (the quota's period end); 0 otherwise.</summary>
    public long RetryAfterSeconds { get; private set; }

    /// <summary>"RateLimit-Policy: ..." and "RateLimit: ..." lines (CRLF-terminated), or empty without a consumer limit.</summary>
    public ReadOnlyMemory<byte> RateLimitLines => _rateLimit is null ? default : _rateLimit.AsMemory(0, _rateLimitLength);

    private void ReturnQuota()
    {
        if (_quotaWindow is { } window)
        {
            QuotaCounter.Give(window);
            _quotaUsed--;
            _quotaWindow = null;
        }
    }

    /// <summary>
    /// Encodes the headers for the consumer's limit that binds first (the one with fewer requests left): its
    /// <c>quota</c> ("quota": q requests per w seconds, r left, t seconds to the period's end) or its <c>rate_limit</c>
    /// ("rate": q = burst per w = burst / rate seconds, r tokens left, t seconds until the bucket is full again).
    /// </summary>
    private void StampRateLimit(ConsumerSnapshot consumer)
    {
        long quotaLeft = long.MaxValue, quotaWindow = 0, quotaReset = 0;
        if (consumer.Quota is { } quota)
        {
            var window = _quotaWindow ?? quota.Current;
            var used = _quotaWindow is null ? window.Used : _quotaUsed;
            quotaLeft = Math.Max(0, consumer.QuotaLimit - used);
            quotaWindow = window.Seconds;
            quotaReset = quota.SecondsLeft(window);
        }

        long rateLeft = long.MaxValue, rateWindow = 0, rateReset = 0, burst = 0;
        if (consumer.RateLimiter is { } bucket)
        {
            var tokens = bucket.Available(Stopwatch.GetTimestamp());
            burst = bucket.Burst;
            rateLeft = (long)Math.Floor(tokens);
            rateWindow = Math.Max(1, (long)Math.Ceiling(bucket.Burst / (double)bucket.RequestsPerSecond));
            rateReset = (long)Math.Ceiling((bucket.Burst - tokens) / bucket.RequestsPerSecond);
        }

        if (consumer.Quota is null && consumer.RateLimiter is null)
        {
            return;
        }

        var useQuota = quotaLeft <= rateLeft;
        var name = useQuota ? "\"quota\""u8 : "\"rate\""u8;
        _rateLimit ??= new byte[RateLimitBytes];
        var writer = new SpanWriter(_rateLimit);
        writer.Write("RateLimit-Policy: "u8);
        writer.Write(name);
        writer.Write(";q="u8);
        Number(ref writer, useQuota ? consumer.QuotaLimit : burst);
        writer.Write(";w="u8);
        Number(ref writer, useQuota ? quotaWindow : rateWindow);
        writer.Write("\r\nRateLimit: "u8);
        writer.Write(name);
        writer.Write(";r="u8);
        Number(ref writer, useQuota ? quotaLeft : rateLeft);
        writer.Write(";t="u8);
        Number(ref writer, useQuota ? quotaReset : rateReset);
        writer.Write("\r\n"u8);
        _rateLimitLength = writer.Written;

        static void Number(ref SpanWriter writer, long value)
        {
            Utf8Formatter.TryFormat(value, writer.Free, out var written);
            writer.Advance(written);
        }
    }
}
