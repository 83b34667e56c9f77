namespace LoadBalancer.Core.Transport;

public enum ProxyProtocolStatus
{
    Incomplete,
    Complete,
    Invalid,
}
