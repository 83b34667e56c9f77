using System.Text;
using BenchmarkDotNet.Attributes;
using LoadBalancer.Core.Config;
using LoadBalancer.Core.Http;
using LoadBalancer.Core.Http1;
using LoadBalancer.Core.Routes;
using LoadBalancer.Core.Routing;

namespace LoadBalancer.Bench;

/// <summary>
/// A tenant's route match (issue 13), <c>TenantSnapshot.RouteOf</c> over a parsed request view, for a tenant with 1,
/// 100 and 10,000 routes compiled from lb.toml: the cost must not grow with the route count (a lookup per path
/// segment), and the Allocated column must read 0 B. Requests: a prefix route three segments deep, an exact path, a
/// route picked by method and header among routes on the same prefix, and a miss that falls back to the tenant's pool.
/// <c>WriteHead</c> is the forwarded head with the route's strip_prefix, Host and two header transforms applied.
/// </summary>
[MemoryDiagnoser]
public class RouteMatchBench
{
    private readonly Request _prefix = new("GET /api/svc-{0}/items/42/details?x=1 HTTP/1.1\r\nHost: t.test\r\nAccept: */*\r\n\r\n");
    private readonly Request _exact = new("GET /exact/svc-{0} HTTP/1.1\r\nHost: t.test\r\n\r\n");
    private readonly Request _conditions = new("POST /api/svc-{0}/chat HTTP/1.1\r\nHost: t.test\r\nX-Api-Version: 2\r\nContent-Length: 0\r\n\r\n");
    private readonly Request _miss = new("GET /nowhere/at/all HTTP/1.1\r\nHost: t.test\r\n\r\n");
    private TenantSnapshot _tenant = null!;
    private byte[] _out = [];

    [Params(1, 100, 10_000)]
    public int Routes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var toml = new StringBuilder("""
            [[listeners]]
            name = "web"
            listen = "127.0.0.1:0"

            [[pools]]
            name = "p"
            backends = [{ address = "127.0.0.1:9001" }]

            [[tenants]]
            name = "t"
            match = ["t.test"]
            pool = "p"

            """);
        var target = Routes / 2;
        for (var i = 0; i < Routes; i++)
        {
            // Every tenth route is an exact path; the target service also gets a method-and-header route.
            toml.Append(i % 10 == 9 ? $"[[tenants.routes]]\nname = \"e{i}\"\npath = \"/exact/svc-{i}\"\n" : $"[[tenants.routes]]\nname = \"r{i}\"\npath_prefix = \"/api/svc-{i}\"\n");
        }

        toml.Append($"[[tenants.routes]]\nname = \"chat\"\npath_prefix = \"/api/svc-{target}\"\nmethods = [\"POST\"]\nheaders = {{ \"X-Api-Version\" = \"2\" }}\n"
            + "strip_prefix = \"/api\"\nhost = \"backend.internal\"\nrequest_headers = { set = { \"X-Route\" = \"chat\" }, remove = [\"X-Debug\"] }\n");
        toml.Append($"[[tenants.routes]]\nname = \"exact\"\npath = \"/exact/svc-{target}\"\n");
        var loaded = ConfigLoader.LoadText(toml.ToString(), "bench.toml");
        if (!loaded.Success)
        {
            throw new InvalidOperationException(string.Join("\n", loaded.Errors));
        }

        _tenant = loaded.Snapshot!.Tenants["t"];
        foreach (var request in (ReadOnlySpan<Request>)[_prefix, _exact, _conditions, _miss])
        {
            request.Fill(target);
        }

        _out = new byte[4096];
        // target is 0, 50 or 5000: a prefix route (every tenth route, i % 10 == 9, is an exact one).
        if (Match(_prefix)?.Name != $"r{target}" || Match(_exact)?.Name != "exact" || Match(_conditions)?.Name != "chat" || Match(_miss) is not { IsFallback: true })
        {
            throw new InvalidOperationException($"routes do not resolve as expected: {Match(_prefix)?.Name} {Match(_exact)?.Name} {Match(_conditions)?.Name} {Match(_miss)?.Name}");
        }
    }

    [Benchmark(Baseline = true)]
    public RouteSnapshot? PrefixThreeDeep() => Match(_prefix);

    [Benchmark]
    public RouteSnapshot? ExactPath() => Match(_exact);

    [Benchmark]
    public RouteSnapshot? MethodAndHeader() => Match(_conditions);

    [Benchmark]
    public RouteSnapshot? MissToFallback() => Match(_miss);

    [Benchmark]
    public int WriteHead()
    {
        var route = Match(_conditions)!;
        var edits = new HeaderEdits(-1, route.RequestHeaders, route.Rewrite, route.Host);
        return Http1HeadWriter.WriteRequest(_conditions.Bytes, _conditions.Head, _conditions.Fields, UpgradeOffer.None, true, false, "127.0.0.1"u8, _out, edits);
    }

    private RouteSnapshot? Match(Request request) => _tenant.RouteOf(Http1Request.View(request.Bytes, request.Head, request.Fields));

    private sealed class Request(string template)
    {
        public byte[] Bytes = [];
        public HttpMessageHead Head;
        public HeaderLine[] Fields = new HeaderLine[16];

        public void Fill(int target)
        {
            Bytes = Encoding.ASCII.GetBytes(string.Format(System.Globalization.CultureInfo.InvariantCulture, template, target));
            Head = default;
            if (Http1HeadParser.TryParseRequest(Bytes, HttpLimits.Default, ref Head, Fields) != HeadParseStatus.Complete)
            {
                throw new InvalidOperationException("bench request does not parse");
            }
        }
    }
}
