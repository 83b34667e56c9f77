using System.Diagnostics;
using LoadBalancer.Core.Metrics;
using LoadBalancer.Core.Tenancy;
using LoadBalancer.Core.Transport;

namespace LoadBalancer.Core.Proxy;

internal sealed partial class ProxyExchange
{
    /// <summary>The status line the client is about to get, and the bytes of head (and body, when sent with it).</summary>
    public void OnResponseSent(int status, long bytes)
    {
        if (status != 0)
        {
            _responseStatus = status;
        }

        _bytesOut += bytes;
    }

    /// <summary>A refusal counted elsewhere (the connector's backend_busy), for the request's usage-ledger cell.</summary>
    public void NoteRefusal(RefusalReason reason) => _refusal = (int)reason;

    /// <summary>Response body bytes forwarded to the client.</summary>
    public void CountResponseBytes(long bytes) => _bytesOut += bytes;

    /// <summary>
    /// Request body bytes forwarded to the backend. False once a (chunked) body goes over <c>max_body_bytes</c>:
    /// the refusal is counted here, and the caller stops the exchange (the client gets 413).
    /// </summary>
    public bool CountRequestBytes(long bytes)
    {
        // The request body streams on its own task while the response is read: the one counter both sides add to.
        Interlocked.Add(ref _bytesIn, bytes);
        _bodyBytes += bytes;
        if (_maxBodyBytes < 0 || _bodyBytes <= _maxBodyBytes)
        {
            return true;
        }

        BodyTooLarge = true;
        _refusal = (int)RefusalReason.BodyTooLarge;
        Tenant?.State.CountRefused(RefusalReason.BodyTooLarge);
        return false;
    }

    /// <summary>
    /// Ends the request's accounting: status class, bytes, latency, key and backend usage, and the access-log line
    /// (with <paramref name="clientIp"/> and <paramref name="closeReason"/>). Nothing happens without a tenant.
    /// </summary>
    public void End(byte[] clientIp, CloseReason closeReason)
    {
        var tenant = Tenant;
        if (tenant is null)
        {
            return;
        }

        Tenant = null;
        var elapsed = Stopwatch.GetTimestamp() - _started;
        var state = tenant.State;
        if (_inFlight)
        {
            _inFlight = false;
            state.ExitInFlight(_inFlightToken);
        }

        var bytesIn = Interlocked.Read(ref _bytesIn);
        state.CountRequest(_responseStatus, bytesIn, _bytesOut, elapsed);
        Key?.Usage.Count();
        Route?.Usage?.Count(_responseStatus, bytesIn, _bytesOut, elapsed);
        Consumer?.Usage.Count(_responseStatus, bytesIn, _bytesOut, elapsed);
        tenant.CellOf(Consumer, Route)?.Count(_responseStatus, bytesIn, _bytesOut, elapsed, _refusal, _quotaWindow is not null);
        Backend?.CountRequest();
        if (_accessLog is { } log)
        {
            var entry = new AccessLogEntry
            {
                TimeUtcTicks = _startedUtc,
                Tenant = tenant.Name,
                Route = Route?.Name,
                Consumer = Consumer?.Name,
                KeyId = Key?.Id,
                ClientIp = clientIp,
                RequestLine = _logLine,
                MethodLength = _logMethodLength,
                TargetLength = _logTargetLength,
                Status = _responseStatus,
                BytesReceived = bytesIn,
                BytesSent = _bytesOut,
                Backend = Backend?.Config.Address,
                DurationTicks = elapsed,
                CloseReason = closeReason,
            };
            _logLine = null;
            _accessLog = null;
            log.TryWrite(entry);
        }

        Key = null;
        Backend = null;
        Route = null;
        Consumer = null;
        _quotaWindow = null;
    }

    /// <summary>When the connection ends: a request line captured for a log that was never written goes back.</summary>
    public void ReleaseBuffers()
    {
        if (_logLine is not null)
        {
            EngineBuffers.Return(_logLine);
            _logLine = null;
        }
    }
}
