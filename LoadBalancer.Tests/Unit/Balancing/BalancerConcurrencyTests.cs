using LoadBalancer.Core.Balancing;
using LoadBalancer.Core.Routing;
using NUnit.Framework;

namespace LoadBalancer.Tests.Unit.Balancing;

[TestFixture]
public class BalancerConcurrencyTests
{
    private const int Threads = 4;
    private const int PicksPerThread = 50_000;

    [TestCase(BalancerNames.RoundRobin)]
    [TestCase(BalancerNames.LeastConnections)]
    [TestCase(BalancerNames.WeightedHash)]
    [CancelAfter(10_000)]
    public void Pick_ConcurrentThreads_EveryPickLandsAndCountsAddUp(string name)
    {
        Assert.That(BalancerRegistry.Default.TryGet(name, out var factory), Is.True);
        var backends = TestBackends.WithWeights(1, 2, 3, 4, 5);
        var balancer = factory!.Create(backends);
        var counts = new int[backends.Length];
        var keys = TestBackends.RandomKeys(1_024, seed: 7);
        var failures = 0;
        using var start = new Barrier(Threads);

        var workers = new Thread[Threads];
        for (var t = 0; t < Threads; t++)
        {
            var threadIndex = t;
            workers[t] = new Thread(() =>
            {
                start.SignalAndWait();
                for (var i = 0; i < PicksPerThread; i++)
                {
                    // Flap one backend from one thread to exercise the skip paths under contention.
                    if (threadIndex == 0 && i % 1_000 == 0)
                    {
                        backends[2].IsAvailable = !backends[2].IsAvailable;
                    }

                    var picked = balancer.Pick(new PickContext { HashKey = keys[(i + threadIndex) & 1023] });
                    var index = Array.IndexOf(backends, picked);
                    if (index < 0)
                    {
                        Interlocked.Increment(ref failures);
                        continue;
                    }

                    var token = picked!.EnterInFlight();
                    Interlocked.Increment(ref counts[index]);
                    picked.ExitInFlight(token);
                }
            });
            workers[t].Start();
        }

        foreach (var worker in workers)
        {
            worker.Join();
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(failures, Is.Zero);
            Assert.That(counts.Sum(), Is.EqualTo(Threads * PicksPerThread));
            Assert.That(backends.Select(b => b.InFlight), Is.All.Zero);
        }
    }
}
