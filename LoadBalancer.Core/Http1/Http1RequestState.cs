using LoadBalancer.Core.Proxy;
using LoadBalancer.Core.Transport;

namespace LoadBalancer.Core.Http1;

/// <summary>
/// What an HTTP/1 connection needs only while a request is in progress: the exchange (tenancy, accounting), the head
/// state, the upstream with its connector, and the backend-side deadline. A connection borrows one when a request's
/// first bytes are there and gives it back before it waits for the next, so an idle keep-alive connection holds none
/// of them (568 bytes per connection in a heap dump of 10,000 idle ones; issue 15 counts memory per idle connection).
/// Kept per engine, since the timer belongs to the engine's sweep.
/// </summary>
internal sealed class Http1RequestState
{
    public Http1RequestState(ProxyEngine engine)
    {
        BackendTimer = engine.Sockets.CreateSessionTimer();
        Upstream = new Http1Upstream(engine, downstream: null, Exchange, BackendTimer, Heads);
    }

    public ProxyExchange Exchange { get; } = new();

    public Http1HeadState Heads { get; } = new();

    public DeadlineTimer BackendTimer { get; }

    public Http1Upstream Upstream { get; }

    /// <summary>A fired timer is never re-armed (its token stays cancelled), so a state whose timer fired is not lent again.</summary>
    public bool Reusable => !BackendTimer.IsCancellationRequested;

    /// <summary>Binds the state to the connection that borrows it.</summary>
    public void LendTo(Http1Connection connection)
    {
        BackendTimer.ForgetWatchedChannels();
        Upstream.BindDownstream(connection);
    }
}
