namespace LoadBalancer.Core.Tenancy;

/// <summary>Where a listener reads the tenant key from: <c>tenant_key = "host" | "header:Name" | "path-prefix"</c>.</summary>
public enum TenantKeyKind
{
    Host,
    Header,
    PathPrefix,

    /// <summary>tcp listeners: the server name a TLS ClientHello asks for, read without terminating TLS. Matches like Host.</summary>
    Sni,
}
