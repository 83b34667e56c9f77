using LoadBalancer.Core.Config;
using static LoadBalancer.Tests.Unit.Config.ConfigTestHelpers;

namespace LoadBalancer.Tests.Unit.Config;

/// <summary>[[tenants.routes]] and header transforms (issue 13): what compiles, and one refused snippet per rule.</summary>
[TestFixture]
public sealed class RoutesConfigTests
{
    // Lines 1-9: listener, pools p and q. Line 10 [[tenants]], 11 name, 12 match, 13 the tenant's extra (pool by
    // default), then the routes from line 14.
    private static string Toml(string routes, string tenantExtra = "pool = \"p\"") =>
        "[[listeners]]\nname = \"web\"\nlisten = \"*:80\"\n[[pools]]\nname = \"p\"\nbackends = [{ address = \"127.0.0.1:9001\" }]\n[[pools]]\nname = \"q\"\nbackends = [{ address = \"127.0.0.1:9002\" }]\n"
        + $"[[tenants]]\nname = \"t\"\nmatch = [\"t.example.com\"]\n{tenantExtra}\n{routes}";

    [Test]
    public void LoadText_EveryRouteKey_CompilesIntoTheTenant()
    {
        var result = Load(Toml("""
            [[tenants.routes]]
            name = "chat"
            path_prefix = "/v1/chat/"
            methods = ["POST"]
            headers = { "X-Api-Version" = "2" }
            pool = "q"
            strip_prefix = "/v1"
            host = "llm.internal:8080"
            request_headers = { set = { "X-Route" = "chat" }, add = { "X-Extra" = "1" }, remove = ["X-Debug"] }
            response_headers = { set = { "Cache-Control" = "no-store" } }
            timeouts = { connect = "1s", response_head = "2m", queue = "250ms" }
            rate_limit = { requests_per_second = 5, burst = 10 }
            max_body_bytes = 1024
            """, "pool = \"p\"\nmax_body_bytes = 99\nrequest_headers = { set = { \"X-Tenant\" = \"t\", \"X-Route\" = \"none\" }, remove = [\"X-Internal\"] }"));

        Assert.That(result.Success, Is.True, () => string.Join("\n", result.Errors));
        var tenant = result.Snapshot!.Tenants["t"];
        var route = tenant.Routes.Routes.Single();
        Assert.That((route.Name, route.Pool.Name, route.Conditions!.Exact, route.Conditions.Path, route.Conditions.Count), Is.EqualTo(("chat", "q", false, "/v1/chat", 2)));
        Assert.That((route.Rewrite.StripLength, route.Rewrite.Prefix.Length), Is.EqualTo((3, 0)));
        Assert.That(System.Text.Encoding.ASCII.GetString(route.Host!), Is.EqualTo("llm.internal:8080"));
        Assert.That((route.Timeouts.Connect, route.Timeouts.ResponseHead, route.Timeouts.Queue), Is.EqualTo((TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(2), TimeSpan.FromMilliseconds(250))));
        Assert.That((route.RateLimiter!.RequestsPerSecond, route.RateLimiter.Burst, route.MaxBodyBytes), Is.EqualTo((5L, 10L, 1024L)));

        // The route's transform over the tenant's: its set of X-Route wins, the tenant's other edits stay.
        var added = route.RequestHeaders!.Added.Select(a => $"{Text(a.Name)}: {Text(a.Value)}");
        Assert.That(added, Is.EqualTo(new[] { "X-Tenant: t", "X-Route: chat", "X-Extra: 1" }));
        Assert.That(route.RequestHeaders.Removed.Select(Text), Is.EquivalentTo(new[] { "X-Internal", "X-Debug", "X-Tenant", "X-Route" }));
        Assert.That(route.ResponseHeaders!.Added.Select(a => Text(a.Name)), Is.EqualTo(new[] { "Cache-Control" }));

        // The fallback: pool p with the tenant's own edits and limits.
        var fallback = tenant.Fallback!;
        Assert.That((fallback.Pool.Name, fallback.MaxBodyBytes, fallback.RateLimiter), Is.EqualTo(("p", 99L, (object?)null)));
        Assert.That(fallback.RequestHeaders!.Added.Select(a => Text(a.Value)), Is.EqualTo(new[] { "t", "none" }));
        Assert.That(result.Snapshot.Pools["q"].TenantStates, Does.Contain(tenant.State), "a route's pool shares its slots fairly with this tenant too");
    }

    [Test]
    public void LoadText_RouteDefaults_TenantPoolAnyPathAnyMethodNoEdits()
    {
        var result = Load(Toml("[[tenants.routes]]\nname = \"all\""));
        var route = result.Snapshot!.Tenants["t"].Routes.Routes.Single();
        Assert.That((route.Pool.Name, route.Conditions!.Path, route.Conditions.Exact, route.Conditions.Methods, route.RequestHeaders, route.Rewrite.IsNone, route.Host),
            Is.EqualTo(("p", "/", false, (byte[][]?)null, (object?)null, true, (byte[]?)null)));
        Assert.That(route.Timeouts, Is.SameAs(result.Snapshot.Pools["p"].Timeouts));
    }

    [Test]
    public void LoadText_RewritePrefix_ReplacesTheMatchedPrefix()
    {
        var result = Load(Toml("[[tenants.routes]]\nname = \"a\"\npath_prefix = \"/api/v1/\"\nrewrite_prefix = \"/internal/\"\n[[tenants.routes]]\nname = \"b\"\nrewrite_prefix = \"/\"\npath = \"/x\""));
        var routes = result.Snapshot!.Tenants["t"].Routes.Routes;
        Assert.That((routes[0].Rewrite.StripLength, Text(routes[0].Rewrite.Prefix.ToArray())), Is.EqualTo((7, "/internal")));
        Assert.That((routes[1].Rewrite.StripLength, routes[1].Rewrite.Prefix.Length), Is.EqualTo((2, 0)));
    }

    [Test]
    public void LoadText_Reload_KeepsRouteUsageAndUnchangedRouteLimiter()
    {
        var routes = "[[tenants.routes]]\nname = \"a\"\npath = \"/a\"\nrate_limit = { requests_per_second = 5 }\n";
        var first = Load(Toml(routes)).Snapshot!;
        var same = ConfigLoader.LoadText(Toml(routes + "max_body_bytes = 5\n"), FileName, first).Snapshot!;
        var changed = ConfigLoader.LoadText(Toml(routes.Replace("= 5", "= 6", StringComparison.Ordinal)), FileName, same).Snapshot!;
        var a = (Func<Core.Routing.RuntimeSnapshot, Core.Routes.RouteSnapshot>)(s => s.Tenants["t"].Routes.Routes[0]);
        Assert.That(a(same).RateLimiter, Is.SameAs(a(first).RateLimiter));
        Assert.That(a(same).Usage, Is.SameAs(a(first).Usage));
        Assert.That(a(changed).RateLimiter, Is.Not.SameAs(a(first).RateLimiter));
        Assert.That(a(changed).Usage, Is.SameAs(a(first).Usage));
    }

    [Test]
    public void LoadText_NoPoolNoRoutes_IsRefused()
        => SingleError(Toml("", tenantExtra: ""), "tenants[0].pool", 10, 3, "is required");

    [Test]
    public void LoadText_RouteWithoutPoolAndTenantWithout_IsRefused()
        => SingleError(Toml("[[tenants.routes]]\nname = \"a\"", tenantExtra: ""), "tenants[0].routes[0].pool", 14, 11, "the tenant has no pool");

    [Test]
    public void LoadText_RouteUnknownPool_IsRefused()
        => SingleError(Toml("[[tenants.routes]]\nname = \"a\"\npool = \"nope\""), "tenants[0].routes[0].pool", 16, 8, "no pool named \"nope\"");

    [Test]
    public void LoadText_RouteWithoutName_IsRefused()
        => SingleError(Toml("[[tenants.routes]]\npath = \"/a\""), "tenants[0].routes[0].name", 14, 11, "is required");

    [Test]
    public void LoadText_DuplicateRouteName_IsRefused()
        => SingleError(Toml("[[tenants.routes]]\nname = \"a\"\npath = \"/a\"\n[[tenants.routes]]\nname = \"a\"\npath = \"/b\""), "tenants[0].routes[1].name", 18, 8, "duplicate route name \"a\"");

    [Test]
    public void LoadText_RouteUnknownKey_IsRefused()
        => SingleError(Toml("[[tenants.routes]]\nname = \"a\"\npath_prefx = \"/a\""), "tenants[0].routes[0].path_prefx", 16, 1, "did you mean `path_prefix`?");

    [Test]
    public void LoadText_PathAndPrefix_IsRefused()
        => SingleError(Toml("[[tenants.routes]]\nname = \"a\"\npath = \"/a\"\npath_prefix = \"/a\""), "tenants[0].routes[0].path_prefix", 17, 15, "cannot be combined with path");

    [TestCase("a")]
    [TestCase("/a?b")]
    [TestCase("/a b")]
    public void LoadText_BadPath_IsRefused(string path)
        => SingleError(Toml($"[[tenants.routes]]\nname = \"a\"\npath_prefix = \"{path}\""), "tenants[0].routes[0].path_prefix", 16, 15, "must be a path starting with \"/\"");

    [Test]
    public void LoadText_EmptyMethods_IsRefused()
        => SingleError(Toml("[[tenants.routes]]\nname = \"a\"\nmethods = []"), "tenants[0].routes[0].methods", 16, 11, "at least one method");

    [Test]
    public void LoadText_BadMethod_IsRefused()
        => SingleError(Toml("[[tenants.routes]]\nname = \"a\"\nmethods = [\"GET POST\"]"), "tenants[0].routes[0].methods[0]", 16, 12, "is not a method name");

    [Test]
    public void LoadText_HeaderConditionTwiceByCase_IsRefused()
        => SingleError(Toml("[[tenants.routes]]\nname = \"a\"\nheaders = { \"X-A\" = \"1\", \"x-a\" = \"2\" }"), "tenants[0].routes[0].headers.x-a", 16, 26, "listed twice");

    [Test]
    public void LoadText_IndistinguishableRoutes_AreRefusedWithBothPositions()
    {
        var error = SingleError(
            Toml("[[tenants.routes]]\nname = \"a\"\npath_prefix = \"/v1/\"\nmethods = [\"GET\"]\n[[tenants.routes]]\nname = \"b\"\nmethods = [\"GET\"]\npath_prefix = \"/v1\""),
            "tenants[0].routes[1]", 18, 11, "route \"b\" cannot be told apart from route \"a\" (tenants[0].routes[0] at lb.toml:14:11)");
        Assert.That(error.ToString(), Does.StartWith("lb.toml:18:11:"));
    }

    [Test]
    public void LoadText_RouteShadowedByAnEarlierBroaderOne_IsRefused()
        => SingleError(
            Toml("[[tenants.routes]]\nname = \"any\"\npath = \"/a\"\nmethods = [\"GET\", \"POST\"]\n[[tenants.routes]]\nname = \"get\"\npath = \"/a\"\nmethods = [\"GET\"]"),
            "tenants[0].routes[1]", 18, 11, "route \"get\" can never match: route \"any\"");

    [Test]
    public void LoadText_SamePathDifferentConditions_IsAccepted()
        => Assert.That(Load(Toml("[[tenants.routes]]\nname = \"a\"\npath = \"/a\"\n[[tenants.routes]]\nname = \"b\"\npath = \"/a\"\nmethods = [\"GET\"]\n[[tenants.routes]]\nname = \"c\"\npath_prefix = \"/a\"")).Success, Is.True);

    [Test]
    public void LoadText_StripPrefixNotAStartOfThePath_IsRefused()
        => SingleError(Toml("[[tenants.routes]]\nname = \"a\"\npath_prefix = \"/v1/chat\"\nstrip_prefix = \"/v1/ch\""), "tenants[0].routes[0].strip_prefix", 17, 16, "must be the start of the route's path");

    [Test]
    public void LoadText_StripAndRewrite_IsRefused()
        => SingleError(Toml("[[tenants.routes]]\nname = \"a\"\npath_prefix = \"/v1\"\nstrip_prefix = \"/v1\"\nrewrite_prefix = \"/x\""), "tenants[0].routes[0].rewrite_prefix", 18, 18, "cannot be combined with strip_prefix");

    [Test]
    public void LoadText_BadHost_IsRefused()
        => SingleError(Toml("[[tenants.routes]]\nname = \"a\"\nhost = \"a b\""), "tenants[0].routes[0].host", 16, 8, "is not a host");

    [TestCase("set", "Content-Length", "cannot be edited")]
    [TestCase("add", "Transfer-Encoding", "cannot be edited")]
    [TestCase("set", "connection", "cannot be edited")]
    [TestCase("set", "Host", "use the route's host")]
    [TestCase("set", "X-Client-Cert-Subject", "from the client certificate it verified")]
    [TestCase("add", "x-client-cert-sha256", "from the client certificate it verified")]
    public void LoadText_RequestTransformOfAManagedField_IsRefused(string verb, string name, string says)
        => SingleError(Toml($"[[tenants.routes]]\nname = \"a\"\nrequest_headers = {{ {verb} = {{ \"{name}\" = \"1\" }} }}"), $"tenants[0].routes[0].request_headers.{verb}.{name}", 16, 29, says);

    [Test]
    public void LoadText_TenantTransformRemovesClientCertificateField_IsRefused()
        => SingleError(Toml("", "pool = \"p\"\nrequest_headers = { remove = [\"X-Client-Cert-Sha256\"] }"), "tenants[0].request_headers.remove[0]", 14, 31, "from the client certificate it verified");

    [Test]
    public void LoadText_ResponseTransformOfClientCertificateField_IsAccepted()
        => Assert.That(Load(Toml("", "pool = \"p\"\nresponse_headers = { set = { \"X-Client-Cert-Subject\" = \"x\" } }")).Errors, Is.Empty);

    [Test]
    public void LoadText_TransformRemovesFraming_IsRefused()
        => SingleError(Toml("[[tenants.routes]]\nname = \"a\"\nresponse_headers = { remove = [\"Transfer-Encoding\"] }"), "tenants[0].routes[0].response_headers.remove[0]", 16, 32, "cannot be edited");

    [Test]
    public void LoadText_TenantTransformWithBadValue_IsRefused()
        => SingleError(Toml("", "pool = \"p\"\nresponse_headers = { add = { \"X-A\" = \" padded\" } }"), "tenants[0].response_headers.add.X-A", 14, 38, "must not start or end with a space");

    [Test]
    public void LoadText_TransformUnknownVerb_IsRefused()
        => SingleError(Toml("", "pool = \"p\"\nrequest_headers = { append = { \"X-A\" = \"1\" } }"), "tenants[0].request_headers.append", 14, 21, "unknown key");

    [Test]
    public void LoadText_RouteRateLimitAndTimeouts_AreChecked()
    {
        var result = Load(Toml("[[tenants.routes]]\nname = \"a\"\nrate_limit = { requests_per_second = 0 }\ntimeouts = { response_head = \"soon\" }\nmax_body_bytes = -1"));
        Assert.That(result.Errors.Select(e => e.Path), Is.EquivalentTo(new[]
        {
            "tenants[0].routes[0].rate_limit.requests_per_second", "tenants[0].routes[0].timeouts.response_head", "tenants[0].routes[0].max_body_bytes",
        }));
    }

    [Test]
    public void LoadText_TcpListenerTenantWithoutPool_IsRefused()
    {
        var toml = "[[listeners]]\nname = \"tls\"\nlisten = \"*:443\"\nprotocol = \"tcp\"\ntenant_key = \"sni\"\n[[pools]]\nname = \"p\"\nbackends = [{ address = \"127.0.0.1:9001\" }]\n"
            + "[[tenants]]\nname = \"t\"\nmatch = [\"t.example.com\"]\n[[tenants.routes]]\nname = \"a\"\npool = \"p\"";
        SingleError(toml, "tenants[0].pool", 9, 3, "tcp listener \"tls\" serves this tenant");
    }

    private static string Text(byte[] bytes) => System.Text.Encoding.Latin1.GetString(bytes);
}
