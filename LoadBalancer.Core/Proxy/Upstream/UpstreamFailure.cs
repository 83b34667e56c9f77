namespace LoadBalancer.Core.Proxy.Upstream;

/// <summary>Why <see cref="BackendConnector"/> found no backend connection; each has its own answer and close reason.</summary>
internal enum UpstreamFailure
{
    None,

    /// <summary>No backend was available to try (all down, drained, or the retry budget is spent before any try): 503.</summary>
    NoBackend,

    /// <summary>Every backend tried refused or timed out the connect: 502.</summary>
    Unreachable,

    /// <summary>Every backend is at <c>max_connections_per_backend</c> and no slot came free in <c>timeouts.queue</c>, or the tenant is over its fair share: 503.</summary>
    Busy,
}
