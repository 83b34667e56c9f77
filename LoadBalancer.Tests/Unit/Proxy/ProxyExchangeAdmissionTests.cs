using System.Security.Cryptography;
using System.Text;
using LoadBalancer.Core.Config;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Proxy;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;
using LoadBalancer.Core.Http1;

namespace LoadBalancer.Tests.Unit.Proxy;

/// <summary>
/// Admission without sockets (issue 18): <see cref="ProxyExchange.Admit"/> on a compiled snapshot and a parsed head,
/// the order of its checks, what each refusal counts, and that accounting gives back what admission took.
/// </summary>
[TestFixture]
public sealed class ProxyExchangeAdmissionTests
{
    private const string Key = "lbk_test_key_0123456789";

    private static string Sha => Convert.ToHexString(SHA256.HashData(Encoding.ASCII.GetBytes(Key))).ToLowerInvariant();

    private static RuntimeSnapshot Compile(string tenantExtra) => ConfigLoader.LoadText($$"""
        [[listeners]]
        name = "web"
        listen = "127.0.0.1:0"

        [[tenants]]
        name = "t"
        match = ["t.test"]
        pool = "p"
        {{tenantExtra}}

        [[pools]]
        name = "p"
        backends = [{ address = "127.0.0.1:9001" }]
        """, "lb.toml").Snapshot ?? throw new InvalidOperationException("config refused");

    private static Admission Admit(RuntimeSnapshot snapshot, ProxyExchange exchange, string request, ref TenantState? connectionTenant)
    {
        var bytes = Encoding.ASCII.GetBytes(request);
        var head = default(HttpMessageHead);
        var headers = new HeaderLine[32];
        Assert.That(Http1HeadParser.TryParseRequest(bytes, HttpLimits.Default, ref head, headers), Is.EqualTo(HeadParseStatus.Complete));
        return exchange.Admit(snapshot.Tenants["t"], snapshot.Listeners[0], Http1Request.View(bytes, head, headers), ref connectionTenant);
    }

    [Test]
    public void Admit_WithinLimits_TakesInFlightAndEndGivesItBack()
    {
        var snapshot = Compile("max_in_flight = 1");
        var state = snapshot.Tenants["t"].State;
        var exchange = new ProxyExchange();
        TenantState? connection = null;

        var admission = Admit(snapshot, exchange, "GET / HTTP/1.1\r\nHost: t.test\r\n\r\n", ref connection);

        Assert.That(admission.IsAdmitted, Is.True);
        Assert.That(connection, Is.SameAs(state), "the connection now counts for the tenant");
        Assert.That(state.InFlight, Is.EqualTo(1));
        exchange.OnResponseSent(200, 100);
        exchange.End("127.0.0.1"u8.ToArray(), CloseReason.None);
        Assert.That(state.InFlight, Is.Zero);
        Assert.That(state.TotalRequests, Is.EqualTo(1));
        Assert.That(exchange.Tenant, Is.Null);
    }

    [Test]
    public void Admit_AtMaxInFlight_Refused503AndCounted()
    {
        var snapshot = Compile("max_in_flight = 1");
        var state = snapshot.Tenants["t"].State;
        TenantState? connection = null;
        Assert.That(Admit(snapshot, new ProxyExchange(), "GET / HTTP/1.1\r\nHost: t.test\r\n\r\n", ref connection).IsAdmitted, Is.True);

        var second = Admit(snapshot, new ProxyExchange(), "GET / HTTP/1.1\r\nHost: t.test\r\n\r\n", ref connection);

        Assert.That(second.Status, Is.EqualTo(503));
        Assert.That(second.Refusal!.Code, Is.EqualTo("max_in_flight"));
        Assert.That(second.CloseReason, Is.EqualTo(CloseReason.TenantOverLimit));
        Assert.That(state.Refused((int)RefusalReason.MaxInFlight), Is.EqualTo(1));
        Assert.That(state.InFlight, Is.EqualTo(1), "a refused request takes no slot");
    }

    [TestCase("", 401, "missing_access_key")]
    [TestCase("X-Api-Key: wrong\r\n", 403, null)]
    [TestCase("X-Api-Key: " + Key + "\r\n", 0, null)]
    public void Admit_AccessKey_MissingWrongOrRight(string keyLine, int status, string? code)
    {
        var snapshot = Compile($"access_keys = [{{ id = \"ci\", sha256 = \"{Sha}\" }}]\naccess_key_header = \"X-Api-Key\"");
        var exchange = new ProxyExchange();
        TenantState? connection = null;

        var admission = Admit(snapshot, exchange, $"GET / HTTP/1.1\r\nHost: t.test\r\n{keyLine}\r\n", ref connection);

        Assert.That(admission.Status, Is.EqualTo(status));
        if (code is not null)
        {
            Assert.That(admission.Refusal!.Code, Is.EqualTo(code));
        }

        if (status == 0)
        {
            Assert.That(exchange.Key!.Id, Is.EqualTo("ci"));
            Assert.That(exchange.KeyHeaderIndex, Is.EqualTo(1), "the key header is found, to be stripped before forwarding");
        }
    }

    [Test]
    public void Admit_OverRateLimit_Refused429WithRetryAfter_BeforeInFlightIsTaken()
    {
        var snapshot = Compile("rate_limit = { requests_per_second = 1, burst = 1 }");
        var state = snapshot.Tenants["t"].State;
        TenantState? connection = null;
        var first = new ProxyExchange();
        Assert.That(Admit(snapshot, first, "GET / HTTP/1.1\r\nHost: t.test\r\n\r\n", ref connection).IsAdmitted, Is.True);
        first.End([], CloseReason.None);

        var second = Admit(snapshot, new ProxyExchange(), "GET / HTTP/1.1\r\nHost: t.test\r\n\r\n", ref connection);

        Assert.That(second.Status, Is.EqualTo(429));
        Assert.That(second.Refusal!.RetryAfter, Is.True);
        Assert.That(state.RateLimited, Is.EqualTo(1));
        Assert.That(state.InFlight, Is.Zero);
    }

    [Test]
    public void Admit_ContentLengthOverMaxBody_Refused413_ChunkedBodyCountedAsItStreams()
    {
        var snapshot = Compile("max_body_bytes = 10");
        TenantState? connection = null;
        var tooLarge = Admit(snapshot, new ProxyExchange(), "POST / HTTP/1.1\r\nHost: t.test\r\nContent-Length: 11\r\n\r\n", ref connection);
        Assert.That(tooLarge.Status, Is.EqualTo(413));

        var chunked = new ProxyExchange();
        Assert.That(Admit(snapshot, chunked, "POST / HTTP/1.1\r\nHost: t.test\r\nTransfer-Encoding: chunked\r\n\r\n", ref connection).IsAdmitted, Is.True);
        Assert.That(chunked.CountRequestBytes(10), Is.True);
        Assert.That(chunked.CountRequestBytes(1), Is.False, "the 11th body byte is over max_body_bytes");
        Assert.That(chunked.BodyTooLarge, Is.True);
        Assert.That(snapshot.Tenants["t"].State.Refused((int)RefusalReason.BodyTooLarge), Is.EqualTo(2));
    }

    [Test]
    public void Admit_AtMaxConnections_AnotherConnectionIsRefused_TheSameOneIsNot()
    {
        var snapshot = Compile("max_connections = 1");
        TenantState? first = null;
        TenantState? second = null;
        var exchange = new ProxyExchange();
        Assert.That(Admit(snapshot, exchange, "GET / HTTP/1.1\r\nHost: t.test\r\n\r\n", ref first).IsAdmitted, Is.True);
        exchange.End([], CloseReason.None);
        Assert.That(Admit(snapshot, exchange, "GET / HTTP/1.1\r\nHost: t.test\r\n\r\n", ref first).IsAdmitted, Is.True, "the connection already counts");
        exchange.End([], CloseReason.None);

        var refused = Admit(snapshot, new ProxyExchange(), "GET / HTTP/1.1\r\nHost: t.test\r\n\r\n", ref second);

        Assert.That(refused.Status, Is.EqualTo(503));
        Assert.That(refused.Refusal!.Code, Is.EqualTo("max_connections"));
        Assert.That(second, Is.Null);
    }

    [TestCase("GET /other HTTP/1.1\r\nHost: t.test\r\n\r\n", 401, "missing_access_key", Description = "no key: 401 before the route, so paths stay hidden")]
    [TestCase("GET /other HTTP/1.1\r\nHost: t.test\r\nAuthorization: Bearer " + Key + "\r\n\r\n", 404, "no_route", Description = "a good key and no route: 404")]
    [TestCase("GET /api/x HTTP/1.1\r\nHost: t.test\r\nAuthorization: Bearer " + Key + "\r\n\r\n", 429, "rate_limited", Description = "the route's own bucket (empty) replaces the tenant's")]
    [TestCase("GET /big HTTP/1.1\r\nHost: t.test\r\nAuthorization: Bearer " + Key + "\r\nContent-Length: 6\r\n\r\n", 413, "body_too_large", Description = "the route's max_body_bytes replaces the tenant's")]
    [TestCase("GET /big HTTP/1.1\r\nHost: t.test\r\nAuthorization: Bearer " + Key + "\r\nContent-Length: 5\r\n\r\n", 0, null, Description = "within the route's cap, over the tenant's")]
    public void Admit_RoutesWithoutFallback_KeyThenRouteThenTheRoutesLimits(string request, int status, string? code)
    {
        var snapshot = ConfigLoader.LoadText($$"""
            [[listeners]]
            name = "web"
            listen = "127.0.0.1:0"

            [[tenants]]
            name = "t"
            match = ["t.test"]
            access_keys = [{ id = "k", sha256 = "{{Sha}}" }]
            max_body_bytes = 1

            [[tenants.routes]]
            name = "api"
            path_prefix = "/api"
            pool = "p"
            rate_limit = { requests_per_second = 1, burst = 1 }

            [[tenants.routes]]
            name = "big"
            path = "/big"
            pool = "p"
            max_body_bytes = 5

            [[pools]]
            name = "p"
            backends = [{ address = "127.0.0.1:9001" }]
            """, "lb.toml").Snapshot!;
        Assert.That(snapshot.Tenants["t"].Routes.Routes[0].RateLimiter!.TryAcquire(), Is.True, "empty the route's bucket");
        TenantState? connection = null;
        var exchange = new ProxyExchange();

        var admission = Admit(snapshot, exchange, request, ref connection);

        Assert.That((admission.Status, admission.Refusal?.Code), Is.EqualTo((status, code)));
    }

    [Test]
    public void Admit_ManyConsumerKeys_EachNamesItsConsumer_AWrongOneIs403()
    {
        var consumers = new System.Text.StringBuilder();
        for (var i = 0; i < 40; i++)
        {
            var sha = Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes($"key-{i}")));
            consumers.Append($"[[consumers]]\nname = \"c{i}\"\ntenant = \"t\"\nkeys = [{{ id = \"k{i}\", sha256 = \"{sha}\" }}]\n");
        }

        var snapshot = ConfigLoader.LoadText("[[listeners]]\nname = \"web\"\nlisten = \"127.0.0.1:0\"\n[[tenants]]\nname = \"t\"\nmatch = [\"t.test\"]\npool = \"p\"\n[[pools]]\nname = \"p\"\nbackends = [{ address = \"127.0.0.1:9001\" }]\n" + consumers, "lb.toml").Snapshot!;
        Assert.That(snapshot.Tenants["t"].KeysByHash, Is.Not.Null, "40 keys: looked up by hash prefix");
        for (var i = 0; i < 40; i += 7)
        {
            TenantState? connection = null;
            var exchange = new ProxyExchange();
            Assert.That(Admit(snapshot, exchange, $"GET / HTTP/1.1\r\nHost: t.test\r\nAuthorization: Bearer key-{i}\r\n\r\n", ref connection).IsAdmitted, Is.True);
            Assert.That(exchange.Consumer!.Name, Is.EqualTo($"c{i}"));
        }

        TenantState? other = null;
        Assert.That(Admit(snapshot, new ProxyExchange(), "GET / HTTP/1.1\r\nHost: t.test\r\nAuthorization: Bearer key-40\r\n\r\n", ref other).Status, Is.EqualTo(403));
    }
}
