namespace LoadBalancer.Core.Http2.Upstream;

/// <summary>
/// The HTTP/2 connections of an h2 pool to one backend. A request takes a stream on the first connection with room
/// under the backend's SETTINGS_MAX_CONCURRENT_STREAMS (and, for a <c>tls</c> pool named by the request's Host, the
/// same TLS name); when none has room, it opens another. The array is replaced when a connection comes or goes (rare),
/// so the request path reads one reference and reserves a stream with one compare-and-swap: no lock.
/// </summary>
internal sealed class Http2SessionSet
{
    private Http2BackendSession[] _sessions = [];

    /// <summary>
    /// Held while a new connection is made: requests that find every connection full wait for it (and then usually
    /// find room on it) instead of each opening its own. Only the connect path takes it.
    /// </summary>
    public SemaphoreSlim Connecting { get; } = new(1, 1);

    public int Count => Volatile.Read(ref _sessions).Length;

    /// <summary>A session that took one stream reservation for the caller, or null when every one is full, going away or another name's.</summary>
    public Http2BackendSession? TryReserve(ReadOnlySpan<byte> tlsHost)
    {
        foreach (var session in Volatile.Read(ref _sessions))
        {
            if (session.ServesTlsHost(tlsHost) && session.TryReserve())
            {
                return session;
            }
        }

        return null;
    }

    /// <summary>Every connection goes away (see <see cref="Http2BackendSession.RetireAsync"/>); off the request path.</summary>
    public void RetireAll(TimeSpan drainTimeout)
    {
        foreach (var session in Volatile.Read(ref _sessions))
        {
            // RetireAsync never throws; it finishes with its connection's last stream or its deadline.
            _ = session.RetireAsync(drainTimeout);
        }
    }

    public void Add(Http2BackendSession session)
    {
        while (true)
        {
            var current = Volatile.Read(ref _sessions);
            Http2BackendSession[] next = [.. current, session];
            if (Interlocked.CompareExchange(ref _sessions, next, current) == current)
            {
                return;
            }
        }
    }

    public void Remove(Http2BackendSession session)
    {
        while (true)
        {
            var current = Volatile.Read(ref _sessions);
            var index = Array.IndexOf(current, session);
            if (index < 0)
            {
                return;
            }

            var next = new Http2BackendSession[current.Length - 1];
            current.AsSpan(0, index).CopyTo(next);
            current.AsSpan(index + 1).CopyTo(next.AsSpan(index));
            if (Interlocked.CompareExchange(ref _sessions, next, current) == current)
            {
                return;
            }
        }
    }
}
