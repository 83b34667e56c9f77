namespace LoadBalancer.Core.Routing;

/// <summary>Client-side timeouts of a listener (lb.toml <c>timeouts = { request_head, keep_alive, body_idle }</c>).</summary>
public sealed record ListenerTimeouts
{
    public static readonly ListenerTimeouts Default = new();

    /// <summary>Deadline for a whole request head from its first byte (slowloris): 408, then close.</summary>
    public TimeSpan RequestHead { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long an idle keep-alive client connection is kept between requests.</summary>
    public TimeSpan KeepAlive { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Longest silence while a body is being streamed, either direction.</summary>
    public TimeSpan BodyIdle { get; init; } = TimeSpan.FromSeconds(30);
}
