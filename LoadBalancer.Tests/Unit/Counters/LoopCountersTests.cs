using LoadBalancer.Core.Counters;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.Unit.Counters;

/// <summary>
/// Counters kept per event loop: each loop thread adds to its own copy, every other thread to one shared copy, and
/// sums are exact. Runs code on a two-loop engine's loop threads (<see cref="OnLoop"/>).
/// </summary>
[TestFixture]
public sealed class LoopCountersTests : TwoLoopEngineFixture
{
    [Test]
    [CancelAfter(20_000)]
    public async Task Add_OnTwoLoopsAndOffLoop_EachWritesItsOwnCopy_SumIsExact(CancellationToken cancellationToken)
    {
        var counters = new LoopCounters(2);
        await OnLoop.RunAsync(Engine, 0, () => counters.Add(1, 5), cancellationToken);
        await OnLoop.RunAsync(Engine, 1, () => counters.Add(1, 7), cancellationToken);
        counters.Add(1, 11);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(counters.Sum(1), Is.EqualTo(23));
            Assert.That(counters.Sum(0), Is.Zero);
            Assert.That(await OnLoop.RunAsync(Engine, 0, () => counters.Here(1), cancellationToken), Is.EqualTo(5));
            Assert.That(await OnLoop.RunAsync(Engine, 1, () => counters.Here(1), cancellationToken), Is.EqualTo(7));
            Assert.That(counters.Here(1), Is.EqualTo(11), "off every loop: the shared copy");
            Assert.That(counters.CopiesMade, Is.EqualTo(3));
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Add_ConcurrentlyFromBothLoopsAndFourOtherThreads_SumIsExact(CancellationToken cancellationToken)
    {
        const int PerThread = 200_000;
        var counters = new LoopCounters(1);
        var start = new ManualResetEventSlim();
        var others = Enumerable.Range(0, 4).Select(_ => Task.Factory.StartNew(
            () =>
            {
                start.Wait(cancellationToken);
                for (var i = 0; i < PerThread; i++)
                {
                    counters.Add(0, 1);
                }
            },
            cancellationToken,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default)).ToArray();
        var loops = Enumerable.Range(0, 2).Select(loop => OnLoop.RunAsync(
            Engine,
            loop,
            () =>
            {
                start.Wait(cancellationToken);
                for (var i = 0; i < PerThread; i++)
                {
                    counters.Increment(0);
                }
            },
            cancellationToken)).ToArray();

        start.Set();
        await Task.WhenAll(others);
        await Task.WhenAll(loops);
        Assert.That(counters.Sum(0), Is.EqualTo(6L * PerThread));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task GaugeExit_WithItsToken_FromAnotherThread_LeavesTheCopyItEntered(CancellationToken cancellationToken)
    {
        var gauge = new LoopGauge();
        var tokens = await OnLoop.RunAsync(Engine, 0, () => new[] { gauge.Enter(), gauge.Enter() }, cancellationToken);
        Assert.That(gauge.Value, Is.EqualTo(2));
        Assert.That(await OnLoop.RunAsync(Engine, 1, () => gauge.ValueHere, cancellationToken), Is.Zero, "loop 1 has none of loop 0's");

        // Ended on other threads (the test thread, loop 1): each leaves loop 0's copy, which drifts nowhere.
        gauge.Exit(tokens[0]);
        await OnLoop.RunAsync(Engine, 1, () => gauge.Exit(tokens[1]), cancellationToken);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(gauge.Value, Is.Zero);
            Assert.That(await OnLoop.RunAsync(Engine, 0, () => gauge.ValueHere, cancellationToken), Is.Zero);
            Assert.That(await OnLoop.RunAsync(Engine, 1, () => gauge.ValueHere, cancellationToken), Is.Zero);
        }
    }

    [Test]
    public void GaugeTryEnter_EightThreadsAtALimitOfTen_NeverMoreThanTenIn()
    {
        var gauge = new LoopGauge();
        var inside = 0;
        var most = 0;
        var admitted = 0L;
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, _ =>
        {
            for (var i = 0; i < 50_000; i++)
            {
                if (gauge.TryEnter(10) is { } token)
                {
                    var now = Interlocked.Increment(ref inside);
                    LoopShard.RaiseTo(ref most, now);
                    Interlocked.Increment(ref admitted);
                    Interlocked.Decrement(ref inside);
                    gauge.Exit(token);
                }
            }
        });

        Assert.That(most, Is.InRange(1, 10));
        Assert.That(admitted, Is.GreaterThan(0));
        Assert.That(gauge.Value, Is.Zero);
    }

    [Test]
    public void Gauge_LimitSetWhileUnlimitedCountsAreIn_ValueStaysExact_AndTokenlessExitsBalance()
    {
        var gauge = new LoopGauge();
        var old = new[] { gauge.Enter(), gauge.Enter(), gauge.Enter() };

        // A limit of 2 counts only what entered under it (the three earlier ones finish as they entered).
        Assert.That(gauge.TryEnter(2), Is.EqualTo(LoopGauge.Shared));
        Assert.That(gauge.TryEnter(2), Is.EqualTo(LoopGauge.Shared));
        Assert.That(gauge.TryEnter(2), Is.Null);
        Assert.That(gauge.Value, Is.EqualTo(5));
        foreach (var token in old)
        {
            gauge.Exit(token);
        }

        Assert.That(gauge.Value, Is.EqualTo(2));

        // Tokenless exits take the shared field while it holds any, then the running thread's copy: exact totals.
        gauge.Exit();
        gauge.Exit();
        Assert.That(gauge.Value, Is.Zero);
        gauge.Enter();
        gauge.Exit();
        Assert.That(gauge.Value, Is.Zero);
    }
}
