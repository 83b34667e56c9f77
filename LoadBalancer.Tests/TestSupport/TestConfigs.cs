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

    /// <summary>
    /// One http listener "web" with HTTP/2 (prior knowledge), and two tenants on their own pools: "acme" (Host
    /// acme.example.com, pool "a") and "globex" (Host globex.example.com, pool "g"), one backend each.
    /// </summary>
    public static string TwoTenantsHttp2(string acme, string globex) => $$"""
        [[listeners]]
        name = "web"
        listen = "127.0.0.1:0"
        http2 = true

        [[tenants]]
        name = "acme"
        match = ["acme.example.com"]
        pool = "a"

        [[tenants]]
        name = "globex"
        match = ["globex.example.com"]
        pool = "g"

        [[pools]]
        name = "a"
        backends = [ { address = "{{acme}}" } ]

        [[pools]]
        name = "g"
        backends = [ { address = "{{globex}}" } ]
        """;
}
