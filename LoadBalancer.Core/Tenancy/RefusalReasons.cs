namespace LoadBalancer.Core.Tenancy;

/// <summary>Label values for <see cref="RefusalReason"/>, stable across releases (dashboards depend on them).</summary>
public static class RefusalReasons
{
    public const int Count = 12;

    private static readonly string[] Names = ["missing_key", "invalid_key", "body_too_large", "max_connections", "max_in_flight", "backend_busy", "no_route", "not_subscribed", "consumer_rate_limited", "quota_exceeded", "key_pending", "key_expired"];

    public static string Name(RefusalReason reason) => Names[(int)reason];

    public static string Name(int reason) => Names[reason];
}
