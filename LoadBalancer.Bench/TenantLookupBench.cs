using System.Net;
using System.Text;
using BenchmarkDotNet.Attributes;
using LoadBalancer.Core.Balancing;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Bench;

/// <summary>
/// TenantTable.Find on raw Host bytes, with 10 and 10,000 tenants: the cost must not grow with the tenant count, and
/// the Allocated column must read 0 B. Keys: an exact name, the same with a port and upper case, a wildcard match
/// (walks the suffixes), and a miss (walks every suffix, finds nothing).
/// </summary>
[MemoryDiagnoser]
public class TenantLookupBench
{
    private static readonly byte[] ExactKey = Encoding.ASCII.GetBytes("tenant-7.example.com");
    private static readonly byte[] PortAndCaseKey = Encoding.ASCII.GetBytes("Tenant-7.Example.COM:8080");
    private static readonly byte[] WildcardKey = Encoding.ASCII.GetBytes("api.eu.tenant-3.example.com");
    private static readonly byte[] MissKey = Encoding.ASCII.GetBytes("nobody.elsewhere.example.org");

    private TenantTable _table = null!;

    [Params(10, 10_000)]
    public int Tenants { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var backend = new BackendState(new Backend("127.0.0.1:9001", new IPEndPoint(IPAddress.Loopback, 9001), 1));
        var pool = new PoolSnapshot
        {
            Name = "pool",
            Backends = [backend],
            Balancer = new RoundRobinBalancer([backend]),
            BalancerName = BalancerNames.RoundRobin,
        };
        var matches = new List<KeyValuePair<string, TenantSnapshot>>();
        for (var i = 0; i < Tenants; i++)
        {
            var tenant = new TenantSnapshot { Name = $"tenant-{i}", Pool = pool };
            matches.Add(new($"tenant-{i}.example.com", tenant));
            matches.Add(new($"*.tenant-{i}.example.com", tenant));
        }

        _table = new TenantTable(TenantKeyKind.Host, matches);
        if (_table.Find(ExactKey) is null || _table.Find(PortAndCaseKey) is null || _table.Find(WildcardKey) is null || _table.Find(MissKey) is not null)
        {
            throw new InvalidOperationException("tenant table does not resolve the bench keys as expected");
        }
    }

    [Benchmark(Baseline = true)]
    public TenantSnapshot? Exact() => _table.Find(ExactKey);

    [Benchmark]
    public TenantSnapshot? PortAndUpperCase() => _table.Find(PortAndCaseKey);

    [Benchmark]
    public TenantSnapshot? Wildcard() => _table.Find(WildcardKey);

    [Benchmark]
    public TenantSnapshot? Miss() => _table.Find(MissKey);
}
