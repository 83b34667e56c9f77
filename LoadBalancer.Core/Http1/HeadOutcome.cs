namespace LoadBalancer.Core.Http1;

/// <summary>How waiting for a message head ended, on either side of an HTTP/1 exchange.</summary>
internal enum HeadOutcome
{
    Complete,
    Closed,
    Invalid,
    Timeout,
}
