namespace LoadBalancer.Core.Routing;

public enum ListenerProtocol
{
    Http,
    Tcp,
}
