namespace LoadBalancer.Core.Management;

/// <summary>The resources under <c>/api/config/</c>: each an array of tables in lb.toml, named by its <c>name</c> key.</summary>
public static class ConfigResourceKinds
{
    public static readonly string[] All = ["tenants", "pools", "consumers"];

    public static bool IsKind(string kind) => Array.IndexOf(All, kind) >= 0;

    /// <summary>"tenant" for "tenants": how messages name one.</summary>
    public static string Singular(string kind) => kind[..^1];
}
