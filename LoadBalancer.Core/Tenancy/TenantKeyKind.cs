namespace LoadBalancer.Core.Tenancy;

/// <summary>Where a listener reads the tenant key from: <c>tenant_key = "host" | "header:Name" | "path-prefix"</c>.</summary>
public enum TenantKeyKind
{
    Host,
    Header,
    PathPrefix,
}
