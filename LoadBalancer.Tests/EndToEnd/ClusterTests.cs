using System.Diagnostics;
using System.Globalization;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>
/// A fleet of three real lb processes sharing one tenant's rate limit through a real redis-server (issue 15, part 3):
/// together they admit what one lb would, within the bound README's "Running a fleet" gives; with Redis killed mid-run
/// no request fails (only the limiter's own 429s), each falls back to its share and says so, and all come back when
/// Redis does.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class ClusterTests
{
    private const int Instances = 3;
    private const long Rate = 100;
    private const long Burst = 100;

    /// <summary>C = ceil(2 * rate * sync_interval) at the default 100 ms.</summary>
    private const long LeaseCap = 20;

    private string _directory = null!;

    [SetUp]
    public void SetUp() => _directory = Directory.CreateTempSubdirectory("lb-cluster-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_directory, recursive: true);

    private static string Config(string instanceId, string redis, string backend) => $$"""
        [cluster]
        redis = "{{redis}}"
        instance_id = "{{instanceId}}"

        [admin]
        listen = "127.0.0.1:0"

        [[listeners]]
        name = "web"
        listen = "127.0.0.1:0"

        [[tenants]]
        name = "acme"
        match = ["acme.test"]
        pool = "p"
        rate_limit = { requests_per_second = {{Rate}}, burst = {{Burst}} }

        [[pools]]
        name = "p"
        backends = [{ address = "{{backend}}" }]
        """;

    /// <summary>
    /// redis-server, a backend and the three processes, up and in the fleet (each reports Redis up and 3 instances),
    /// under load from one closed-loop client per instance (a few hundred requests per second each, far over a third
    /// of the limit) from <see cref="Clock"/>'s start. Disposing stops it all.
    /// </summary>
    private sealed class Fleet : IAsyncDisposable
    {
        private readonly TestBackends _backends = TestBackends.Start("b1");
        private RedisServer? _redis;
        private LbProcess[] _processes = [];
        private bool _stopped;

        public RedisServer Redis => _redis!;

        public IReadOnlyList<LbProcess> Processes => _processes;

        public HttpClient[] Admins { get; private set; } = [];

        public Stopwatch Clock { get; } = new();

        public List<SteadyLoad> Loads { get; private set; } = [];

        public static async Task<Fleet> StartAsync(string directory, CancellationToken cancellationToken)
        {
            var fleet = new Fleet();
            try
            {
                fleet._redis = await RedisServer.StartAsync(cancellationToken);
                var starts = new Task<LbProcess>[Instances];
                for (var i = 0; i < Instances; i++)
                {
                    var path = Path.Combine(directory, $"lb-{i}.toml");
                    await File.WriteAllTextAsync(path, Config($"lb-{i}", fleet.Redis.Address, fleet._backends.Address("b1")), cancellationToken);
                    starts[i] = LbProcess.StartAsync(path, cancellationToken, null, "--no-watch");
                }

                fleet._processes = await Task.WhenAll(starts);
                fleet.Admins = Clients(fleet._processes.Select(lb => lb.AdminEndPoint));
                await WaitForFleetAsync(fleet.Admins, up: 1, cancellationToken);
                fleet.Clock.Start();
                fleet.Loads = [.. Clients(fleet._processes.Select(lb => lb.EndPoint())).Select(c => new SteadyLoad(c, "acme.test", workers: 2, fleet.Clock))];
                return fleet;
            }
            catch
            {
                await fleet.DisposeAsync();
                throw;
            }
        }

        public async Task StopLoadAsync()
        {
            _stopped = true;
            foreach (var load in Loads)
            {
                await load.DisposeAsync();
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (!_stopped)
            {
                await StopLoadAsync();
            }

            foreach (var lb in _processes)
            {
                await lb.DisposeAsync();
            }

            await _backends.DisposeAsync();
            if (_redis is not null)
            {
                await _redis.DisposeAsync();
            }
        }
    }

    private static async Task<Dictionary<string, double>> MetricsAsync(HttpClient admin, CancellationToken cancellationToken)
    {
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in (await admin.GetStringAsync("/metrics", cancellationToken)).Split('\n'))
        {
            if (line.Length > 0 && line[0] != '#')
            {
                var space = line.LastIndexOf(' ');
                samples[line[..space]] = double.Parse(line[(space + 1)..], CultureInfo.InvariantCulture);
            }
        }

        return samples;
    }

    /// <summary>Polls every instance's /metrics until each shows <paramref name="up"/> and (when up) the whole fleet.</summary>
    private static async Task WaitForFleetAsync(HttpClient[] admins, int up, CancellationToken cancellationToken)
    {
        for (var i = 0; i < admins.Length; i++)
        {
            while (true)
            {
                var samples = await MetricsAsync(admins[i], cancellationToken);
                var id = $"{{instance_id=\"lb-{i}\"}}";
                if (samples["lb_cluster_redis_up" + id] == up && (up == 0 || samples["lb_cluster_instances" + id] == Instances))
                {
                    break;
                }

                await Task.Delay(50, cancellationToken);
            }
        }
    }

    private static HttpClient[] Clients(IEnumerable<System.Net.IPEndPoint> endPoints) =>
        [.. endPoints.Select(e => new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 2, UseProxy = false })
        {
            BaseAddress = new Uri($"http://{e}/"),
            Timeout = TimeSpan.FromSeconds(10),
        })];

    private static long Admitted(IEnumerable<SteadyLoad> loads, TimeSpan from, TimeSpan to) =>
        loads.Sum(l => l.Outcomes.Count(o => o.Status == 200 && o.Started >= from && o.Started < to));

    private static void AssertOnlyAdmittedOrLimited(IEnumerable<SteadyLoad> loads)
    {
        var outcomes = loads.SelectMany(l => l.Outcomes).ToList();
        var bad = outcomes.Where(o => o.Status is not (200 or 429)).Take(5).ToList();
        Assert.That(bad, Is.Empty, () => $"{bad.Count} failed of {outcomes.Count}: " + string.Join("; ", bad.Select(o => $"{o.Status} {o.Error}")));
    }

    [Test]
    [CancelAfter(90_000)]
    public async Task ThreeInstances_ShareOneTenantLimit_AdmitRateWithinBound(CancellationToken cancellationToken)
    {
        await using var fleet = await Fleet.StartAsync(_directory, cancellationToken);
        var (redis, admins, clock, loads) = (fleet.Redis, fleet.Admins, fleet.Clock, fleet.Loads);
        await Task.Delay(TimeSpan.FromSeconds(4), cancellationToken);
        var end = clock.Elapsed;
        await fleet.StopLoadAsync();

        AssertOnlyAdmittedOrLimited(loads);
        var admitted = Admitted(loads, TimeSpan.Zero, end);
        var attempts = loads.Sum(l => l.Outcomes.Count);
        var ideal = Burst + (Rate * end.TotalSeconds);
        var bound = (Instances + 1) * LeaseCap;
        var perInstance = string.Join(", ", loads.Select(l => l.Outcomes.Count(o => o.Status == 200)));
        TestContext.Out.WriteLine($"{attempts} attempts in {end.TotalSeconds:0.00}s, {admitted} admitted ({perInstance} per instance); one lb would admit {ideal:0}; bound +-{bound}");
        Assert.That(attempts, Is.GreaterThan(3 * admitted), "the fleet was over its limit the whole time");
        Assert.That(admitted, Is.InRange(ideal - bound, ideal + bound));
        Assert.That(loads.Select(l => l.Outcomes.Count(o => o.Status == 200)), Has.All.GreaterThan(admitted / 10), "no instance is starved of tokens (rounds are jittered)");

        // Usage is per instance, named: the fleet's sum is exact.
        long usage = 0;
        for (var i = 0; i < Instances; i++)
        {
            var samples = await MetricsAsync(admins[i], cancellationToken);
            usage += (long)samples[$"lb_requests_total{{tenant=\"acme\",code=\"2xx\",instance_id=\"lb-{i}\"}}"];
            var json = await admins[i].GetStringAsync("/api/usage", cancellationToken);
            Assert.That(json, Does.Contain($"\"instance_id\": \"lb-{i}\""));
        }

        // Stopping the load cancels at most one request per instance that lb may have answered (and counted) already.
        var seen = loads.Sum(l => l.Outcomes.Count(o => o.Status == 200));
        Assert.That(usage, Is.InRange(seen, seen + Instances));
        Assert.That(await redis.CommandAsync("ZCARD lb:instances", cancellationToken), Is.EqualTo(":3"));

        // A clean stop (SIGTERM: drain, then the sync task leaves) takes the instance out of the count at once.
        fleet.Processes[2].Signal(LbProcess.SIGTERM);
        Assert.That(await fleet.Processes[2].WaitForExitAsync(cancellationToken), Is.Zero);
        Assert.That(await redis.CommandAsync("ZCARD lb:instances", cancellationToken), Is.EqualTo(":2"));

        // What Redis paid (README "Redis sizing"): one script call per instance and round, and one small key per tenant.
        var stats = (await redis.BulkAsync("INFO commandstats", cancellationToken)).Split("\r\n").Where(l => l.StartsWith("cmdstat_eval", StringComparison.Ordinal));
        TestContext.Out.WriteLine($"redis: {string.Join("; ", stats)}; MEMORY USAGE lb:rate:acme {await redis.CommandAsync("MEMORY USAGE lb:rate:acme", cancellationToken)}, lb:instances {await redis.CommandAsync("MEMORY USAGE lb:instances", cancellationToken)}");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task RedisKilledMidRun_NoFailedRequests_FallsBackThenRecovers(CancellationToken cancellationToken)
    {
        await using var fleet = await Fleet.StartAsync(_directory, cancellationToken);
        var (redis, admins, clock, loads) = (fleet.Redis, fleet.Admins, fleet.Clock, fleet.Loads);
        await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);

        await redis.KillAsync();
        await WaitForFleetAsync(admins, up: 0, cancellationToken);
        var down = clock.Elapsed;
        await Task.Delay(TimeSpan.FromSeconds(1.5), cancellationToken);
        var fallbackEnd = clock.Elapsed;

        await redis.RestartAsync(cancellationToken);
        await WaitForFleetAsync(admins, up: 1, cancellationToken);
        var up = clock.Elapsed;
        await Task.Delay(TimeSpan.FromSeconds(1.5), cancellationToken);
        var end = clock.Elapsed;
        await fleet.StopLoadAsync();

        AssertOnlyAdmittedOrLimited(loads);
        var fallback = Admitted(loads, down, fallbackEnd);
        var after = Admitted(loads, up, end);
        var fallbackSeconds = (fallbackEnd - down).TotalSeconds;
        var afterSeconds = (end - up).TotalSeconds;
        TestContext.Out.WriteLine($"down after {down.TotalSeconds:0.00}s; fallback {fallback} admitted in {fallbackSeconds:0.00}s; back after {(up - fallbackEnd).TotalSeconds:0.00}s; then {after} in {afterSeconds:0.00}s");

        // Fallback: each instance 1/3 of the rate and burst (ceil), plus what it held when Redis went.
        var share = (Rate + Instances - 1) / Instances * Instances;
        Assert.That(fallback, Is.InRange(Rate * fallbackSeconds / 2, (share * fallbackSeconds) + share + (Instances * LeaseCap)));

        // Back to one shared bucket (Redis restarted empty: full again).
        var bound = (Instances + 1) * LeaseCap;
        Assert.That(after, Is.InRange((Rate * afterSeconds) - bound, Burst + (Rate * afterSeconds) + bound));

        foreach (var lb in fleet.Processes)
        {
            Assert.That(lb.Output, Does.Contain($"Redis {redis.Address} unreachable"));
            Assert.That(lb.Output, Does.Contain($"Redis {redis.Address} answers again"));
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task WeightedHash_TwoProcesses_SameKeyPicksSameBackend_WhateverTheBackendOrder(CancellationToken cancellationToken)
    {
        await using var backends = TestBackends.Start("b1", "b2", "b3");
        string Pool(params string[] names) => string.Join(", ", names.Select(n => $"{{ address = \"{backends.Address(n)}\", weight = {(n == "b2" ? 2 : 1)} }}"));
        var orders = new[] { Pool("b1", "b2", "b3"), Pool("b3", "b1", "b2") };
        var fleet = new List<LbProcess>();
        try
        {
            for (var i = 0; i < orders.Length; i++)
            {
                var path = Path.Combine(_directory, $"hash-{i}.toml");
                await File.WriteAllTextAsync(path, $$"""
                    [[listeners]]
                    name = "web"
                    listen = "127.0.0.1:0"

                    [[tenants]]
                    name = "acme"
                    match = ["acme.test"]
                    pool = "p"

                    [[pools]]
                    name = "p"
                    balancer = "weighted-hash"
                    hash_on = "header:X-User"
                    backends = [{{orders[i]}}]
                    """, cancellationToken);
                fleet.Add(await LbProcess.StartAsync(path, cancellationToken, null, "--no-watch"));
            }

            var clients = Clients(fleet.Select(lb => lb.EndPoint()));
            var picks = new Dictionary<string, int>(StringComparer.Ordinal);
            for (var key = 0; key < 200; key++)
            {
                var seen = new string[clients.Length];
                for (var i = 0; i < clients.Length; i++)
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, "/");
                    request.Headers.Host = "acme.test";
                    request.Headers.Add("X-User", $"user-{key}");
                    using var response = await clients[i].SendAsync(request, cancellationToken);
                    seen[i] = response.Headers.GetValues("X-Backend").Single();
                }

                Assert.That(seen.Distinct().Count(), Is.EqualTo(1), $"user-{key}: {string.Join(" / ", seen)}");
                picks[seen[0]] = picks.GetValueOrDefault(seen[0]) + 1;
            }

            TestContext.Out.WriteLine("keys per backend: " + string.Join(", ", picks.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key} {p.Value}")));
            Assert.That(picks.Keys, Is.EquivalentTo(new[] { "b1", "b2", "b3" }), "every backend owns some keys");
        }
        finally
        {
            foreach (var lb in fleet)
            {
                await lb.DisposeAsync();
            }
        }
    }
}
