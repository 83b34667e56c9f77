namespace LoadBalancer.Core.Routing;

/// <summary>Label values for <see cref="DiscardReason"/>, stable across releases (dashboards depend on them).</summary>
public static class DiscardReasons
{
    public const int Count = 11;

    private static readonly string[] Names =
    [
        "unread_bytes", "unsolicited_data", "backend_closed", "connection_close", "close_delimited", "invalid_response",
        "response_timeout", "request_unfinished", "client_aborted", "proxy_protocol", "expired",
    ];

    public static string Name(DiscardReason reason) => Names[(int)reason];

    public static string Name(int reason) => Names[reason];
}
