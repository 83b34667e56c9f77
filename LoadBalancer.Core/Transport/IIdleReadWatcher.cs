namespace LoadBalancer.Core.Transport;

/// <summary>
/// Told, on the event loop's thread, when a socket becomes readable (data, FIN or error) while no read is pending.
/// A pooled backend connection uses it to leave the pool the moment its backend sends anything unasked (epoll engine).
/// </summary>
internal interface IIdleReadWatcher
{
    void OnReadableWhileIdle();
}
