using System.Diagnostics;
using LoadBalancer.Core.Counters;
using LoadBalancer.Core.Tenancy;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.Unit.Tenancy;

/// <summary>
/// The bound of the per-loop token bucket (issue 15): loops take tokens in batches, so the admitted count stays within
/// loops x Batch of the exact GCRA count, and never above it from a full bucket. Runs on a two-loop engine's loop
/// threads with explicit timestamps; the exact count is the same attempts on the same bucket off every loop.
/// </summary>
[TestFixture]
public sealed class TokenBucketPerLoopTests : TwoLoopEngineFixture
{
    private static readonly long Second = Stopwatch.Frequency;

    private static long Loops => LoopShard.ArrayLength - 1;

    [Test]
    [CancelAfter(20_000)]
    public async Task FromAFullBucket_TwoLoops_AdmitExactlyBurst_ARefusedLoopMissesAtMostTheOthersBatch(CancellationToken cancellationToken)
    {
        var bucket = new TokenBucket(requestsPerSecond: 100_000, burst: 2_000);
        var batch = bucket.Batch;
        Assert.That(batch, Is.EqualTo(Math.Min(100, 2_000 / (2 * Loops))), "about a millisecond of the rate, at most half the burst over the loops");
        var now = 1000 * Second;

        // Loop 0 admits one request: it took a batch and holds the rest.
        Assert.That(await OnLoop.RunAsync(Engine, 0, () => bucket.TryAcquire(now), cancellationToken), Is.True);
        var onLoop1 = await OnLoop.RunAsync(Engine, 1, () => Drain(bucket, now), cancellationToken);
        var onLoop0 = await OnLoop.RunAsync(Engine, 0, () => Drain(bucket, now), cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(1 + onLoop0 + onLoop1, Is.EqualTo(2_000), "every token spent once, none more");
            Assert.That(onLoop1, Is.InRange(2_000 - (Loops * batch), 2_000 - 1), "loop 1 was refused while loop 0 still held part of its batch");
            Assert.That(onLoop0, Is.EqualTo(batch - 1), "loop 0 spent what it held, then found the bucket empty");
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task SteadyOverloadOnBothLoops_OverOneSecond_WithinLoopsTimesBatchOfTheExactCount(CancellationToken cancellationToken)
    {
        const long Rate = 100_000;
        const long Burst = 2_000;
        const int Steps = 100;
        const int AttemptsPerStep = 2_000; // per loop: twice what a 10 ms step refills
        var bucket = new TokenBucket(Rate, Burst);
        var exact = new TokenBucket(Rate, Burst);
        var start = 1000 * Second;
        long admitted = 0;
        long admittedExactly = 0;
        for (var step = 0; step < Steps; step++)
        {
            // Each loop attempts across the step's 10 ms, loop 1 a little behind loop 0; the exact bucket gets the same
            // attempts in the same order, off every loop.
            var from = start + (step * Second / Steps);
            long Attempt(TokenBucket b, int loop)
            {
                long count = 0;
                for (var i = 0; i < AttemptsPerStep; i++)
                {
                    if (b.TryAcquire(from + ((Second / Steps) * ((2 * i) + loop) / (2 * AttemptsPerStep))))
                    {
                        count++;
                    }
                }

                return count;
            }

            admitted += await OnLoop.RunAsync(Engine, 0, () => Attempt(bucket, 0), cancellationToken);
            admitted += await OnLoop.RunAsync(Engine, 1, () => Attempt(bucket, 1), cancellationToken);
            admittedExactly += Attempt(exact, 0) + Attempt(exact, 1);
        }

        TestContext.Out.WriteLine($"admitted {admitted}, exact {admittedExactly}, bound {Loops} x {bucket.Batch}");
        Assert.That(admittedExactly, Is.InRange(Burst + Rate - 1, Burst + Rate + 1), "premise: the reference is the exact GCRA count");
        Assert.That(admitted, Is.InRange(admittedExactly - (Loops * bucket.Batch), admittedExactly + (Loops * bucket.Batch)));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task HeldTokens_OlderThanTheHold_GoBackToTheBucket_AndAreNotSpentLate(CancellationToken cancellationToken)
    {
        var bucket = new TokenBucket(requestsPerSecond: 100_000, burst: 2_000);
        var now = 1000 * Second;
        Assert.That(await OnLoop.RunAsync(Engine, 0, () => bucket.TryAcquire(now), cancellationToken), Is.True);
        Assert.That(bucket.Available(now), Is.EqualTo(2_000 - 1).Within(0.01), "held tokens count as available");

        // Much later the bucket is full again; loop 0's old tokens go back at its next request instead of adding to it.
        var later = now + Second;
        var onLoop0 = await OnLoop.RunAsync(Engine, 0, () => Drain(bucket, later), cancellationToken);
        Assert.That(onLoop0, Is.EqualTo(2_000), "a full bucket's worth, not a full bucket plus what loop 0 held");
    }

    private static long Drain(TokenBucket bucket, long now)
    {
        long count = 0;
        while (bucket.TryAcquire(now))
        {
            count++;
        }

        return count;
    }
}
