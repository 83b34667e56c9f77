using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Threading.Channels;
using LoadBalancer.Core.Config;
using LoadBalancer.Core.Routing;
using LoadBalancer.Host;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>
/// Issue 4's acceptance run: 50 rewrites of lb.toml, reloaded by the real file watcher, while clients send
/// continuously over keep-alive and fresh connections. Zero failures; every answer from a backend that a snapshot
/// live while the request was in flight allowed; every invalid file rejected with the old routing intact.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class ReloadUnderLoadTests
{
    private const int Rewrites = 50;
    private static readonly string[] BackendNames = ["b1", "b2", "b3", "b4", "b5"];
    private static readonly string[] Hosts = ["acme.test", "globex.test"];

    /// <summary>What a request may have been routed by: the generation's allowed backends per host, from when its
    /// file was written (the publish is later) until the next reload completed (every listener switched by then).</summary>
    private sealed class Generation(long from, Dictionary<string, HashSet<string>> allowed)
    {
        public long From { get; } = from;

        public long Until { get; set; } = long.MaxValue;

        public Dictionary<string, HashSet<string>> Allowed { get; } = allowed;
    }

    private sealed record Sample(long Sent, long Received, string Host, string Client, ProbeResult Result);

    [Test]
    [CancelAfter(60_000)]
    public async Task FiftyRewrites_UnderContinuousLoad_NoFailedRequest_OnlyAllowedBackends(CancellationToken cancellationToken)
    {
        await using var backends = TestBackends.Start(BackendNames);
        var nameOf = BackendNames.ToDictionary(backends.Address, n => n);
        var model = new Model();
        await using var lb = await LbTestHost.StartAsync(model.Toml(backends), watch: true, debounce: TimeSpan.FromMilliseconds(40));
        var web = lb.EndPoint();

        var generations = new List<Generation> { new(long.MinValue, AllowedBy(lb.Engine.Snapshots.Current, nameOf)) };
        var reloads = Channel.CreateUnbounded<(ReloadResult Result, long At)>();
        lb.Reloader.Reloaded += result => reloads.Writer.TryWrite((result, Stopwatch.GetTimestamp()));

        using var stopLoad = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var samples = new ConcurrentQueue<Sample>();
        var clients = new List<Task>
        {
            KeepAliveHttpClientAsync(web, "httpclient-1", samples, stopLoad.Token),
            KeepAliveHttpClientAsync(web, "httpclient-2", samples, stopLoad.Token),
            KeepAliveProbeAsync(web, "keepalive-raw", samples, stopLoad.Token),
            NewConnectionPerRequestAsync(web, "new-conn-1", samples, stopLoad.Token),
            NewConnectionPerRequestAsync(web, "new-conn-2", samples, stopLoad.Token),
        };

        var clock = Stopwatch.StartNew();
        var applied = 0;
        var rejected = 0;
        for (var i = 0; i < Rewrites; i++)
        {
            var valid = i % 2 == 0;
            string toml;
            string what;
            if (valid)
            {
                what = model.Mutate(i / 2);
                toml = model.Toml(backends);
            }
            else
            {
                (what, toml) = Invalid(i / 2, model.Toml(backends));
                Assert.That(ConfigLoader.LoadText(toml, "x.toml").Success, Is.False, $"premise: rewrite {i} ({what}) must be invalid");
            }

            var before = lb.Engine.Snapshots.Current;
            var written = Stopwatch.GetTimestamp();
            await lb.WriteConfigAsync(toml);

            // Earlier writes may still cause a late watcher reload; it reads this same file or is a no-op, so wait for
            // the outcome this file must have and skip the others (Unchanged, or a repeated rejection).
            var wanted = valid ? ReloadOutcome.Applied : ReloadOutcome.Rejected;
            (ReloadResult Result, long At) reload;
            try
            {
                do
                {
                    reload = await reloads.Reader.ReadAsync(cancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(10), cancellationToken);
                }
                while (reload.Result.Outcome != wanted);
            }
            catch (TimeoutException)
            {
                Assert.Fail($"rewrite {i} ({what}): no {wanted} reload within 10 s");
                throw;
            }

            var current = lb.Engine.Snapshots.Current;
            using (Assert.EnterMultipleScope())
            {
                Assert.That(lb.EndPoint(), Is.EqualTo(web), $"rewrite {i}: the unchanged listener keeps its socket");
                if (valid)
                {
                    applied++;
                    Assert.That(current, Is.Not.SameAs(before), $"rewrite {i} ({what}) applied");
                    var allowed = AllowedBy(current, nameOf);
                    Assert.That(allowed, Is.EquivalentTo(model.Expected()), $"rewrite {i} ({what}): routing is the new file's");
                    Assert.That(lb.Engine.GetListenerEndPoint("extra") is not null, Is.EqualTo(model.Extra), $"rewrite {i} ({what}): extra listener");
                    generations[^1].Until = reload.At;
                    generations.Add(new Generation(written, allowed));
                }
                else
                {
                    rejected++;
                    Assert.That(current, Is.SameAs(before), $"rewrite {i} ({what}) rejected: the old snapshot keeps serving");
                    Assert.That(reload.Result.Errors, Is.Not.Empty);
                    Assert.That(reload.Result.Errors, Has.All.Match(@"^/.+:\d+:\d+: "), "errors are PATH:LINE:COL: message");
                }
            }

            if (valid && model.Extra)
            {
                var viaExtra = await HttpProbe.GetOnceAsync(lb.EndPoint("extra"), "acme.test", "/", cancellationToken);
                Assert.That(viaExtra.Outcome, Is.EqualTo(ProbeOutcome.Ok), $"rewrite {i}: the new listener serves");
            }
        }

        var reloadSeconds = clock.Elapsed.TotalSeconds;
        await stopLoad.CancelAsync();
        await Task.WhenAll(clients);

        var all = samples.ToArray();
        var failures = new List<string>();
        foreach (var sample in all)
        {
            if (sample.Result.Outcome != ProbeOutcome.Ok)
            {
                failures.Add($"{sample.Client} {sample.Host}: {sample.Result.Outcome} {sample.Result.Status} {sample.Result.Detail}");
                continue;
            }

            var possible = generations.Where(g => g.From <= sample.Received && sample.Sent <= g.Until).ToList();
            if (!possible.Any(g => g.Allowed[sample.Host].Contains(sample.Result.Backend ?? "")))
            {
                var sets = string.Join(" | ", possible.Select(g => string.Join(",", g.Allowed[sample.Host].Order())));
                failures.Add($"{sample.Client} {sample.Host}: answered by {sample.Result.Backend}, allowed by the live generations: {sets}");
            }
        }

        TestContext.Progress.WriteLine(
            $"reload under load: {Rewrites} rewrites ({applied} applied, {rejected} rejected; reloader counts {lb.Reloader.AppliedCount}/{lb.Reloader.RejectedCount}) " +
            $"in {reloadSeconds:F1} s; {all.Length} requests ({all.Count(s => s.Client.StartsWith("new-conn", StringComparison.Ordinal))} on new connections); {failures.Count} failed");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(failures, Is.Empty, () => string.Join("\n", failures.Take(20)));
            Assert.That(lb.Reloader.AppliedCount, Is.EqualTo(Rewrites / 2), "each valid file applied exactly once");
            Assert.That(lb.Reloader.RejectedCount, Is.GreaterThanOrEqualTo(Rewrites / 2));
            Assert.That(all.Length, Is.GreaterThan(Rewrites * 4), "the load ran throughout");
            Assert.That(generations.Skip(1).Count(g => all.Any(s => s.Sent >= g.From && s.Received <= g.Until)), Is.GreaterThan(Rewrites / 4), "requests ran inside most generations");
        }
    }

    private static Dictionary<string, HashSet<string>> AllowedBy(RuntimeSnapshot snapshot, Dictionary<string, string> nameOf)
    {
        var listener = snapshot.Listeners.Single(l => l.Name == "web");
        return Hosts.ToDictionary(
            host => host,
            host => listener.Tenants.Find(System.Text.Encoding.ASCII.GetBytes(host))!.Pool!.Backends.Select(b => nameOf[b.Config.Address]).ToHashSet());
    }

    private static (string What, string Toml) Invalid(int n, string valid) => (n % 4) switch
    {
        0 => ("syntax error", valid + "\n[[pools]\nname = \"broken\"\n"),
        1 => ("unknown key", valid.Replace("pool = \"p1\"", "pool = \"p1\"\npol = \"p2\"", StringComparison.Ordinal).Replace("pool = \"p2\"\n", "pool = \"p2\"\npol = \"p1\"\n", StringComparison.Ordinal)),
        2 => ("truncated", valid[..(valid.LastIndexOf("address = \"", StringComparison.Ordinal) + 16)]),
        _ => ("dangling pool reference", valid.Replace("name = \"globex\"\nmatch = [\"globex.test\"]\npool = \"", "name = \"globex\"\nmatch = [\"globex.test\"]\npool = \"nope-", StringComparison.Ordinal)),
    };

    private static async Task KeepAliveHttpClientAsync(IPEndPoint web, string name, ConcurrentQueue<Sample> samples, CancellationToken stop)
    {
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1, UseProxy = false })
        {
            BaseAddress = new Uri($"http://{web}/"),
        };
        for (var n = 0; !stop.IsCancellationRequested; n++)
        {
            var host = Hosts[n % 2];
            var sent = Stopwatch.GetTimestamp();
            ProbeResult result;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, $"/{n}") { Headers = { Host = host } };
                using var response = await client.SendAsync(request, stop);
                await response.Content.ReadAsByteArrayAsync(stop);
                result = new ProbeResult(
                    response.StatusCode == HttpStatusCode.OK ? ProbeOutcome.Ok : ProbeOutcome.Status,
                    (int)response.StatusCode,
                    response.Headers.TryGetValues("X-Backend", out var values) ? values.First() : null);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (HttpRequestException ex)
            {
                result = new ProbeResult(ProbeOutcome.Broken, Detail: ex.Message);
            }

            samples.Enqueue(new Sample(sent, Stopwatch.GetTimestamp(), host, name, result));
        }
    }

    private static async Task KeepAliveProbeAsync(IPEndPoint web, string name, ConcurrentQueue<Sample> samples, CancellationToken stop)
    {
        await using var probe = await HttpProbe.ConnectAsync(web, stop);
        for (var n = 0; !stop.IsCancellationRequested; n++)
        {
            var host = Hosts[n % 2];
            var sent = Stopwatch.GetTimestamp();
            ProbeResult result;
            try
            {
                result = await probe!.GetAsync(host, $"/{n}", stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }

            samples.Enqueue(new Sample(sent, Stopwatch.GetTimestamp(), host, name, result));
            if (result.Outcome != ProbeOutcome.Ok)
            {
                return;
            }
        }
    }

    private static async Task NewConnectionPerRequestAsync(IPEndPoint web, string name, ConcurrentQueue<Sample> samples, CancellationToken stop)
    {
        for (var n = 0; !stop.IsCancellationRequested; n++)
        {
            var host = Hosts[(n + 1) % 2];
            var sent = Stopwatch.GetTimestamp();
            ProbeResult result;
            try
            {
                result = await HttpProbe.GetOnceAsync(web, host, $"/{n}", stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }

            samples.Enqueue(new Sample(sent, Stopwatch.GetTimestamp(), host, name, result));
        }
    }

    /// <summary>The config being rewritten: two pools, two tenants, and the changes an operator makes.</summary>
    private sealed class Model
    {
        private readonly List<(string Name, int Weight)> _p1 = [("b1", 1), ("b2", 1)];
        private readonly List<(string Name, int Weight)> _p2 = [("b3", 1)];
        private string _acmePool = "p1";

        public bool Extra { get; private set; }

        /// <summary>Applies the n-th valid change; returns what it was.</summary>
        public string Mutate(int n)
        {
            switch (n % 5)
            {
                case 0 when _p1.Count < BackendNames.Length:
                    var added = BackendNames.First(b => _p1.All(e => e.Name != b));
                    _p1.Add((added, 1));
                    return $"backend {added} added to p1";
                case 0:
                case 1 when _p1.Count > 1:
                    var removed = _p1[0];
                    _p1.RemoveAt(0);
                    return $"backend {removed.Name} removed from p1";
                case 1:
                case 2:
                    _acmePool = _acmePool == "p1" ? "p2" : "p1";
                    return $"tenant acme moved to {_acmePool}";
                case 3:
                    var last = _p1[^1];
                    _p1[^1] = (last.Name, last.Weight == 1 ? 5 : 1);
                    return $"weight of {last.Name} in p1 changed";
                default:
                    Extra = !Extra;
                    if (_p2.Count < 3)
                    {
                        _p2.Add((BackendNames.First(b => _p2.All(e => e.Name != b)), 2));
                    }
                    else
                    {
                        _p2.RemoveAt(0);
                    }

                    return $"listener extra {(Extra ? "added" : "removed")}, p2 backends changed";
            }
        }

        public Dictionary<string, HashSet<string>> Expected() => new()
        {
            ["acme.test"] = (_acmePool == "p1" ? _p1 : _p2).Select(b => b.Name).ToHashSet(),
            ["globex.test"] = _p2.Select(b => b.Name).ToHashSet(),
        };

        public string Toml(TestBackends backends)
        {
            string Backends(List<(string Name, int Weight)> pool)
                => string.Join(", ", pool.Select(b => $"{{ address = \"{backends.Address(b.Name)}\", weight = {b.Weight} }}"));

            var extra = Extra ? "[[listeners]]\nname = \"extra\"\nlisten = \"127.0.0.1:0\"\n" : "";
            return $$"""
                [[listeners]]
                name = "web"
                listen = "127.0.0.1:0"
                {{extra}}
                [[tenants]]
                name = "acme"
                match = ["acme.test"]
                pool = "{{_acmePool}}"

                [[tenants]]
                name = "globex"
                match = ["globex.test"]
                pool = "p2"

                [[pools]]
                name = "p1"
                balancer = "round-robin"
                backends = [{{Backends(_p1)}}]

                [[pools]]
                name = "p2"
                balancer = "least-connections"
                backends = [{{Backends(_p2)}}]
                """;
        }
    }
}
