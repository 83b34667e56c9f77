namespace LoadBalancer.Tests.TestSupport;

/// <summary>lb.toml texts shared by end-to-end tests.</summary>
public static class TestConfigs
{
    /// <summary>
    /// One http listener "web" on 127.0.0.1:0, one tenant "acme" (Host acme.example.com) on pool "p" with one backend;
    /// the extras are TOML lines appended to the listener, tenant and pool tables.
    /// </summary>
    public static string OneTenant(string backend, string listenerExtra = "", string poolExtra = "", string tenantExtra = "") => $$"""
        [[listeners]]
        name = "web"
        listen = "127.0.0.1:0"
        {{listenerExtra}}

        [[tenants]]
        name = "acme"
        match = ["acme.example.com"]
        pool = "p"
        {{tenantExtra}}

        [[pools]]
        name = "p"
        backends = [ { address = "{{backend}}" } ]
        {{poolExtra}}
        """;
}
