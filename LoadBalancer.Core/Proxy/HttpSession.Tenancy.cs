using System.Buffers;
using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Metrics;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;
using LoadBalancer.Core.Transport;

namespace LoadBalancer.Core.Proxy;

/// <summary>
/// Tenancy on the data path: admission (connections, access key, rate limit, body size, in-flight), the per-backend
/// cap, and usage accounting. Called from a few marked lines in the other parts; everything here is Interlocked on
/// the tenant's or backend's own state, and allocates nothing per request (the access log rents its one buffer).
/// </summary>
internal sealed partial class HttpSession
{
    // The tenant of the request being handled (null between requests and for requests no tenant matched).
    private TenantSnapshot? _requestTenant;

    // The tenant this connection counts for (max_connections): the tenant of its latest request.
    private TenantState? _connectionTenant;

    private long _requestStarted;
    private long _requestStartedUtc;
    private int _responseStatus;
    private long _requestBytesIn;
    private long _requestBytesOut;
    private long _requestBodyBytes;
    private long _maxBodyBytes = -1;
    private bool _bodyTooLarge;
    private bool _inFlight;
    private int _keyHeaderIndex = -1;
    private AccessKey? _requestKey;
    private BackendState? _requestBackend;
    private AccessLogWriter? _accessLog;
    private byte[]? _logLine;
    private int _logMethodLength;
    private int _logTargetLength;

    /// <summary>
    /// Runs when a request has been matched to <paramref name="tenant"/>, before anything is sent to a backend.
    /// Returns 0 to proceed, or the status lb answers itself (the refusal is counted and its close reason set).
    /// </summary>
    private int AdmitRequest(TenantSnapshot tenant, ListenerSnapshot listener, ReadOnlySpan<byte> source, ReadOnlySpan<HeaderLine> headers)
    {
        ref readonly var head = ref _head;
        var state = tenant.State;
        _requestTenant = tenant;
        _requestStarted = Stopwatch.GetTimestamp();
        _responseStatus = 0;
        _requestBytesIn = head.HeadLength;
        _requestBytesOut = 0;
        _requestBodyBytes = 0;
        _maxBodyBytes = tenant.MaxBodyBytes;
        _bodyTooLarge = false;
        _keyHeaderIndex = -1;
        _requestKey = null;
        _requestBackend = null;
        _accessLog = listener.AccessLog;
        if (_accessLog is not null)
        {
            CaptureRequestLine(source, head);
        }

        if (!ReferenceEquals(state, _connectionTenant))
        {
            if (!state.TryAttachConnection(tenant.MaxConnections))
            {
                return Refuse(state, RefusalReason.MaxConnections, CloseReason.TenantOverLimit, LocalReplies.MaxConnections);
            }

            _connectionTenant?.DetachConnection();
            _connectionTenant = state;
        }

        if (tenant.AccessKeys.Length > 0)
        {
            var status = CheckAccessKey(tenant, source, headers);
            if (status != 0)
            {
                return status == 401
                    ? Refuse(state, RefusalReason.MissingKey, CloseReason.Unauthorized, LocalReplies.MissingKey)
                    : Refuse(state, RefusalReason.InvalidKey, CloseReason.Unauthorized, LocalReplies.InvalidKey);
            }
        }

        if (tenant.RateLimiter is { } limiter && !limiter.TryAcquire())
        {
            state.CountRateLimited();
            SetCloseReason(CloseReason.RateLimited);
            _replyCause = LocalReplies.RateLimited;
            return 429;
        }

        if (_maxBodyBytes >= 0 && head.ContentLength > _maxBodyBytes)
        {
            return Refuse(state, RefusalReason.BodyTooLarge, CloseReason.BodyTooLarge, LocalReplies.BodyTooLarge);
        }

        if (!state.TryEnterInFlight(tenant.MaxInFlight))
        {
            return Refuse(state, RefusalReason.MaxInFlight, CloseReason.TenantOverLimit, LocalReplies.MaxInFlight);
        }

        _inFlight = true;
        return 0;
    }

    private int Refuse(TenantState state, RefusalReason reason, CloseReason closeReason, LocalReplyCause cause)
    {
        state.CountRefused(reason);
        SetCloseReason(closeReason);
        _replyCause = cause;
        return cause.Status;
    }

    /// <summary>
    /// 0 when a configured key was presented, 401 when none was (or the header is ambiguous), 403 when it matches no key.
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
        _keyHeaderIndex = index;
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(key, hash);
        AccessKey? match = null;
        foreach (var candidate in tenant.AccessKeys)
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

        _requestKey = match;
        return 0;
    }

    private void CaptureRequestLine(ReadOnlySpan<byte> source, in HttpMessageHead head)
    {
        var method = source.Slice(head.MethodStart, head.MethodLength);
        var target = source.Slice(head.TargetStart, Math.Min(head.TargetLength, AccessLogWriter.MaxTargetBytes));
        var line = EngineBuffers.Rent(method.Length + target.Length);
        method.CopyTo(line);
        target.CopyTo(line.AsSpan(method.Length));
        _logLine = line;
        _logMethodLength = method.Length;
        _logTargetLength = target.Length;
        _requestStartedUtc = DateTime.UtcNow.Ticks;
    }

    /// <summary>
    /// Takes an in-flight slot on <paramref name="backend"/>. Under <c>max_connections_per_backend</c>, when the
    /// backend is full, the request waits (up to <c>timeouts.queue</c>) for a slot on any backend of the pool; null then.
    /// </summary>
    private ValueTask<BackendState?> EnterBackendAsync(PoolSnapshot pool, BackendState backend)
    {
        var max = pool.MaxConnectionsPerBackend;
        if (max == 0)
        {
            backend.IncrementActive();
            _requestBackend = backend;
            return new ValueTask<BackendState?>(backend);
        }

        // Once requests queue for slots, a tenant over its fair share that is not next in line is refused at once rather
        // than joining the queue: a flooding tenant then cannot build a queue in front of the others.
        if (pool.Slots.Waiters > 0 && OverFairShare(pool, max) && !IsNextInLine(pool))
        {
            return new ValueTask<BackendState?>((BackendState?)null);
        }

        // While others wait, a newcomer takes a free slot only if its tenant is the one a freed slot would go to anyway.
        if ((pool.Slots.Waiters == 0 || IsNextInLine(pool)) && backend.TryIncrementActive(max))
        {
            _requestBackend = backend;
            return new ValueTask<BackendState?>(backend);
        }

        return OverFairShare(pool, max) && !IsNextInLine(pool) ? new ValueTask<BackendState?>((BackendState?)null) : WaitForBackendSlotAsync(pool, max);
    }

    /// <summary>
    /// A saturated pool's slots are shared evenly among the tenants with requests in flight on it, plus a slack of
    /// <see cref="FairShareSlack"/> requests (queued ones count too), so that a tenant near its share is not refused
    /// for a short burst. Only the overload path calls this: it walks the pool's tenants, O(tenants of the pool).
    /// </summary>
    private bool OverFairShare(PoolSnapshot pool, int max)
    {
        if (_requestTenant?.State is not { } state)
        {
            return false;
        }

        var active = 0;
        foreach (var tenant in pool.TenantStates)
        {
            if (tenant.InFlight > 0)
            {
                active++;
            }
        }

        active = Math.Max(active, 1);
        var capacity = pool.Backends.Length * max;
        var share = ((capacity + active - 1) / active) + FairShareSlack;
        return state.InFlight > share;
    }

    private const int FairShareSlack = 1;

    /// <summary>
    /// Weighted-fair hand-out of freed slots: they go to the waiting tenant with the fewest requests in flight, so a
    /// tenant within its share is never stuck behind a flooding one. Overload path only; O(tenants of the pool).
    /// </summary>
    private bool IsNextInLine(PoolSnapshot pool)
    {
        if (_requestTenant?.State is not { } state)
        {
            return true;
        }

        var mine = state.InFlight;
        foreach (var tenant in pool.TenantStates)
        {
            if (tenant != state && tenant.WaitingForSlot > 0 && tenant.InFlight < mine)
            {
                return false;
            }
        }

        return true;
    }

    private async ValueTask<BackendState?> WaitForBackendSlotAsync(PoolSnapshot pool, int max)
    {
        var slots = pool.Slots;
        var deadline = Stopwatch.GetTimestamp() + (long)(pool.Timeouts.Queue.TotalSeconds * Stopwatch.Frequency);
        var state = _requestTenant?.State;
        state?.EnterSlotWait();
        slots.Register();
        try
        {
            while (true)
            {
                // Registered before looking, so a release after this scan signals us (see BackendSlots).
                if (!IsNextInLine(pool))
                {
                    var left = deadline - Stopwatch.GetTimestamp();
                    if (left <= 0)
                    {
                        return null;
                    }

                    await slots.WaitAsync(TimeSpan.FromSeconds(left / (double)Stopwatch.Frequency), _engine.AbortToken).ConfigureAwait(false);
                    continue;
                }

                var picked = PickBackend(pool, 0, null);
                if (picked is not null && picked.TryIncrementActive(max))
                {
                    picked.CountQueued();
                    _requestBackend = picked;
                    return picked;
                }

                foreach (var candidate in pool.Backends)
                {
                    if (candidate.IsAvailable && candidate.TryIncrementActive(max))
                    {
                        candidate.CountQueued();
                        _requestBackend = candidate;
                        return candidate;
                    }
                }

                var remaining = deadline - Stopwatch.GetTimestamp();
                if (remaining <= 0)
                {
                    return null;
                }

                await slots.WaitAsync(TimeSpan.FromSeconds(remaining / (double)Stopwatch.Frequency), _engine.AbortToken).ConfigureAwait(false);
            }
        }
        finally
        {
            slots.Unregister();
            state?.ExitSlotWait();
        }
    }

    private async ValueTask RefuseBackendBusyAsync()
    {
        if (_requestTenant is { } tenant)
        {
            tenant.State.CountRefused(RefusalReason.BackendBusy);
        }

        SetCloseReason(CloseReason.BackendBusy);
        _replyCause = LocalReplies.PoolBusy;
        await SendCannedAsync(503, _listener.Snapshot).ConfigureAwait(false);
    }

    private void OnConnectFailed(BackendState backend)
    {
        backend.CountConnectFailure();
        _requestBackend = null;
    }

    /// <summary>The status line the client is about to get, and the bytes of head (and body, when sent with it).</summary>
    private void OnResponseSent(int status, long bytes)
    {
        if (status != 0)
        {
            _responseStatus = status;
        }

        _requestBytesOut += bytes;
    }

    /// <summary>
    /// Counts body bytes as they are forwarded. A request body over <c>max_body_bytes</c> (chunked; Content-Length was
    /// refused up front) aborts the backend connection, so the pending response read fails and the client gets 413.
    /// </summary>
    private void CountBodyBytes(SocketChannel destination, long bytes)
    {
        if (ReferenceEquals(destination, _client))
        {
            _requestBytesOut += bytes;
            return;
        }

        Interlocked.Add(ref _requestBytesIn, bytes);
        _requestBodyBytes += bytes;
        if (_maxBodyBytes >= 0 && _requestBodyBytes > _maxBodyBytes)
        {
            _bodyTooLarge = true;
            if (_requestTenant is { } tenant)
            {
                tenant.State.CountRefused(RefusalReason.BodyTooLarge);
            }

            SetCloseReason(CloseReason.BodyTooLarge);
            SocketIo.Abort(destination);
            throw new InvalidDataException("The request body exceeds max_body_bytes.");
        }
    }

    /// <summary>Ends the request's accounting: status class, bytes, latency, key and backend usage, access log line.</summary>
    private void EndRequest()
    {
        var tenant = _requestTenant;
        if (tenant is null)
        {
            return;
        }

        _requestTenant = null;
        var elapsed = Stopwatch.GetTimestamp() - _requestStarted;
        var state = tenant.State;
        if (_inFlight)
        {
            _inFlight = false;
            state.ExitInFlight();
        }

        var bytesIn = Interlocked.Read(ref _requestBytesIn);
        state.CountRequest(_responseStatus, bytesIn, _requestBytesOut, elapsed);
        _requestKey?.Usage.Count();
        _requestBackend?.CountRequest();
        if (_accessLog is { } log)
        {
            var entry = new AccessLogEntry
            {
                TimeUtcTicks = _requestStartedUtc,
                Tenant = tenant.Name,
                KeyId = _requestKey?.Id,
                ClientIp = _clientIp,
                RequestLine = _logLine,
                MethodLength = _logMethodLength,
                TargetLength = _logTargetLength,
                Status = _responseStatus,
                BytesReceived = bytesIn,
                BytesSent = _requestBytesOut,
                Backend = _requestBackend?.Config.Address,
                DurationTicks = elapsed,
                CloseReason = CloseReason,
            };
            _logLine = null;
            _accessLog = null;
            log.TryWrite(entry);
        }

        _requestKey = null;
        _requestBackend = null;
    }

    /// <summary>At the end of the connection: it no longer counts for any tenant.</summary>
    private void DetachTenant()
    {
        EndRequest();
        _connectionTenant?.DetachConnection();
        _connectionTenant = null;
        if (_logLine is not null)
        {
            EngineBuffers.Return(_logLine);
            _logLine = null;
        }
    }
}
