using System.Text;
using LoadBalancer.Core.Config;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Http1;
using LoadBalancer.Core.Routing;

namespace LoadBalancer.Tests.Unit.Routes;

/// <summary>
/// Route precedence without sockets (issue 13): exact path before prefix, a longer prefix before a shorter, more
/// conditions before fewer, then file order; prefixes on a "/" boundary; no match gives the fallback, or 404 without one.
/// </summary>
[TestFixture]
public sealed class RouteMatchTests
{
    // Each route is named after what it is, and goes to pool p (the tenant's fallback is pool f, when asked for).
    private const string Routes = """
        [[tenants.routes]]
        name = "prefix-v1"
        path_prefix = "/v1"

        [[tenants.routes]]
        name = "prefix-v1-chat"
        path_prefix = "/v1/chat/"

        [[tenants.routes]]
        name = "exact-v1-chat"
        path = "/v1/chat"

        [[tenants.routes]]
        name = "chat-post"
        path_prefix = "/v1/chat"
        methods = ["POST"]

        [[tenants.routes]]
        name = "chat-post-v2"
        path_prefix = "/v1/chat"
        methods = ["POST", "PUT"]
        headers = { "X-Api-Version" = "2" }

        [[tenants.routes]]
        name = "chat-v2"
        path_prefix = "/v1/chat"
        headers = { "x-api-version" = "2" }

        [[tenants.routes]]
        name = "chat-beta"
        path_prefix = "/v1/chat"
        headers = { "x-beta" = "1" }

        [[tenants.routes]]
        name = "files-get"
        path_prefix = "/files"
        methods = ["GET"]

        [[tenants.routes]]
        name = "root-delete"
        methods = ["DELETE"]
        """;

    private static TenantSnapshot Tenant(bool fallback)
    {
        var loaded = ConfigLoader.LoadText($$"""
            [[listeners]]
            name = "web"
            listen = "127.0.0.1:0"

            [[tenants]]
            name = "t"
            match = ["t.test"]
            {{(fallback ? "pool = \"f\"" : "")}}
            {{(fallback ? "" : "")}}
            {{Routes.Replace("[[tenants.routes]]\n", "[[tenants.routes]]\npool = \"p\"\n", StringComparison.Ordinal)}}

            [[pools]]
            name = "p"
            backends = [{ address = "127.0.0.1:9001" }]

            [[pools]]
            name = "f"
            backends = [{ address = "127.0.0.1:9002" }]
            """, "lb.toml");
        Assert.That(loaded.Success, Is.True, () => string.Join("\n", loaded.Errors));
        return loaded.Snapshot!.Tenants["t"];
    }

    private static string? RouteOf(TenantSnapshot tenant, string request)
    {
        var bytes = Encoding.ASCII.GetBytes(request);
        var head = default(HttpMessageHead);
        var fields = new HeaderLine[32];
        Assert.That(Http1HeadParser.TryParseRequest(bytes, HttpLimits.Default, ref head, fields), Is.EqualTo(HeadParseStatus.Complete));
        var route = tenant.RouteOf(Http1Request.View(bytes, head, fields));
        return route is null ? null : route.Name ?? "(fallback)";
    }

    private static string Get(string method, string target, string headers = "") => $"{method} {target} HTTP/1.1\r\nHost: t.test\r\n{headers}\r\n";

    [TestCase("GET", "/v1/chat", "", "exact-v1-chat", Description = "exact path before every prefix, even one with more conditions")]
    [TestCase("POST", "/v1/chat", "X-Api-Version: 2\r\n", "exact-v1-chat", Description = "exact path before every prefix")]
    [TestCase("GET", "/v1/chat?stream=1", "", "exact-v1-chat", Description = "the query is not part of the path")]
    [TestCase("GET", "/v1/chat/", "", "prefix-v1-chat", Description = "exact means exact: a trailing slash is another path")]
    [TestCase("GET", "/v1/chat/completions", "", "prefix-v1-chat", Description = "longer prefix before a shorter one")]
    [TestCase("POST", "/v1/chat/completions", "", "chat-post", Description = "same prefix: more conditions first")]
    [TestCase("POST", "/v1/chat/completions", "X-Api-Version: 2\r\n", "chat-post-v2", Description = "methods and a header beat methods alone")]
    [TestCase("PUT", "/v1/chat/completions", "x-api-version: 2\r\n", "chat-post-v2", Description = "header names are case-insensitive")]
    [TestCase("PUT", "/v1/chat/completions", "X-Api-Version: 3\r\n", "prefix-v1-chat", Description = "header values match exactly, else the next route")]
    [TestCase("GET", "/v1/chat/completions", "X-Api-Version: 2\r\n", "chat-v2", Description = "a header condition")]
    [TestCase("GET", "/v1/chat/completions", "X-Beta: 1\r\nX-Api-Version: 2\r\n", "chat-v2", Description = "equal conditions: file order")]
    [TestCase("GET", "/v1/chat/completions", "X-Beta: 1\r\n", "chat-beta", Description = "the other header route")]
    [TestCase("post", "/v1/chat/completions", "", "prefix-v1-chat", Description = "methods are case-sensitive")]
    [TestCase("GET", "/v1/chatty", "", "prefix-v1", Description = "a prefix matches on a / boundary only")]
    [TestCase("GET", "/v1", "", "prefix-v1", Description = "a prefix matches its own path")]
    [TestCase("GET", "/v1/", "", "prefix-v1", Description = "and below it")]
    [TestCase("GET", "/v2/x", "", "(fallback)", Description = "no route: the tenant's pool")]
    [TestCase("GET", "/files/a/b", "", "files-get", Description = "a method condition")]
    [TestCase("HEAD", "/files/a/b", "", "(fallback)", Description = "a method not listed")]
    [TestCase("DELETE", "/files/a/b", "", "root-delete", Description = "a route without a path is the prefix /")]
    [TestCase("DELETE", "/V1/chat", "", "root-delete", Description = "paths are case-sensitive")]
    [TestCase("GET", "http://t.test/v1/chat/x?q", "", "prefix-v1-chat", Description = "absolute form: the path of the target")]
    [TestCase("GET", "http://t.test?q", "", "(fallback)", Description = "absolute form without a path is /")]
    [TestCase("DELETE", "http://t.test", "", "root-delete", Description = "absolute form without a path is /")]
    [TestCase("OPTIONS", "*", "", "(fallback)", Description = "asterisk form matches no route")]
    public void RouteOf_PrecedenceTable(string method, string target, string headers, string expected)
        => Assert.That(RouteOf(Tenant(fallback: true), Get(method, target, headers)), Is.EqualTo(expected));

    [Test]
    public void RouteOf_NoMatchWithoutTenantPool_IsNull()
    {
        var tenant = Tenant(fallback: false);
        Assert.That(tenant.Pool, Is.Null);
        Assert.That(RouteOf(tenant, Get("GET", "/v2/x")), Is.Null, "no fallback: the request gets 404");
        Assert.That(RouteOf(tenant, Get("GET", "/v1/chat")), Is.EqualTo("exact-v1-chat"));
    }

    [Test]
    public void Match_ManyRoutes_AllocatesNothing()
    {
        var tenant = Tenant(fallback: true);
        var bytes = Encoding.ASCII.GetBytes(Get("POST", "/v1/chat/completions/a/b/c?x=1", "X-Api-Version: 2\r\n"));
        var head = default(HttpMessageHead);
        var fields = new HeaderLine[32];
        Http1HeadParser.TryParseRequest(bytes, HttpLimits.Default, ref head, fields);
        string? name = null;
        for (var i = 0; i < 100; i++)
        {
            name = tenant.RouteOf(Http1Request.View(bytes, head, fields))?.Name;
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            name = tenant.RouteOf(Http1Request.View(bytes, head, fields))?.Name;
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
        Assert.That(name, Is.EqualTo("chat-post-v2"));
    }
}
