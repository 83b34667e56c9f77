using System.Net;
using BenchmarkDotNet.Attributes;
using LoadBalancer.Core.Balancing;
using LoadBalancer.Core.Routing;

namespace LoadBalancer.Bench;

/// <summary>One Pick per policy over pools of 4 and 1,000 backends; Allocated must read 0 B.</summary>
[MemoryDiagnoser]
public class BalancerBench
{
    private const int KeyMask = 1023;

    private IBalancer _roundRobin = null!;
    private IBalancer _leastConnections = null!;
    private IBalancer _weightedHash = null!;
    private byte[][] _keys = null!;
    private int _next;

    [Params(4, 1_000)]
    public int Backends { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var backends = new BackendState[Backends];
        for (var i = 0; i < backends.Length; i++)
        {
            // Mixed weights and loads, so no policy gets a degenerate all-equal pool.
            var config = new Backend($"10.0.{i / 250}.{(i % 250) + 1}:8080", new IPEndPoint(IPAddress.Loopback, 20_000 + i), 1 + (i % 5));
            backends[i] = new BackendState(config);
            for (var c = 0; c < i % 7; c++)
            {
                backends[i].EnterInFlight();
            }
        }

        _roundRobin = new RoundRobinBalancerFactory().Create(backends);
        _leastConnections = new LeastConnectionsBalancerFactory().Create(backends);
        _weightedHash = new WeightedHashBalancerFactory().Create(backends);

        // Client-IP-sized keys; cycling through 1,024 of them keeps the ring lookups from always hitting one line.
        var random = new Random(42);
        _keys = new byte[KeyMask + 1][];
        for (var i = 0; i < _keys.Length; i++)
        {
            _keys[i] = new byte[16];
            random.NextBytes(_keys[i]);
        }
    }

    [Benchmark]
    public BackendState? RoundRobin() => _roundRobin.Pick(default);

    [Benchmark]
    public BackendState? LeastConnections() => _leastConnections.Pick(default);

    [Benchmark]
    public BackendState? WeightedHash() => _weightedHash.Pick(new PickContext { HashKey = _keys[_next++ & KeyMask] });

    [Benchmark]
    public BackendState? WeightedHashEmptyKey() => _weightedHash.Pick(default);
}
