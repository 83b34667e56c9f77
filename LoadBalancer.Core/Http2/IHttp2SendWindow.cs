namespace LoadBalancer.Core.Http2;

/// <summary>A stream's share of what the peer lets lb send (RFC 9113 section 6.9), on either side of lb.</summary>
internal interface IHttp2SendWindow
{
    /// <summary>What the peer allows this stream to receive, in bytes; changed only under the endpoint's flow lock.</summary>
    int SendWindow { get; set; }

    /// <summary>Wakes a send waiting for window (a WINDOW_UPDATE, a SETTINGS change or a reset arrived).</summary>
    void WindowOpened();
}
