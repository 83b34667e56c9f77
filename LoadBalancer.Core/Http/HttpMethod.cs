namespace LoadBalancer.Core.Http;

/// <summary>Methods the proxy treats specially (framing, retries); everything else is <see cref="Other"/>.</summary>
public enum HttpMethod : byte
{
    Other,
    Get,
    Head,
    Post,
    Put,
    Delete,
    Options,
    Connect,
    Trace,
    Patch,
}
