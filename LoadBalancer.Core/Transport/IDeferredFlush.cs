namespace LoadBalancer.Core.Transport;

/// <summary>
/// Output held back for the rest of an epoll loop's turn: what many sessions write while the loop handles one batch of
/// events (an HTTP/2 connection's responses for its streams, each finished by a different backend's read) leaves in one
/// send when the turn ends, instead of one send per writer.
/// </summary>
internal interface IDeferredFlush
{
    /// <summary>On the loop thread, after the batch and the timer sweep; must not throw or block.</summary>
    void Flush();
}
