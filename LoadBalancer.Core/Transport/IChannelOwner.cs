namespace LoadBalancer.Core.Transport;

/// <summary>
/// The session a client <see cref="SocketChannel"/> belongs to, found through the event loops' socket tables when the
/// engine drains or aborts. That replaced two cancellation-token registrations per connection (about 160 bytes).
/// </summary>
internal interface IChannelOwner
{
    /// <summary>The engine the session belongs to (several engines may share the loops, as in the tests).</summary>
    object Engine { get; }

    void OnDrain();

    void OnAbort();

    /// <summary>Adds the owner's timers whose deadline passed (<see cref="DeadlineTimer.TakeIfDue"/>) to <paramref name="due"/>.</summary>
    void CollectDue(long now, List<DeadlineTimer> due);
}
