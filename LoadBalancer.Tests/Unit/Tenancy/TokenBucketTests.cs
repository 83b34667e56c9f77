using System.Diagnostics;
using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Tests.Unit.Tenancy;

[TestFixture]
public sealed class TokenBucketTests
{
    private static readonly long Second = Stopwatch.Frequency;

    [Test]
    public void TryAcquire_FullBucket_AdmitsExactlyBurstAtOnce()
    {
        var bucket = new TokenBucket(requestsPerSecond: 10, burst: 5);
        var now = 1000 * Second;

        var admitted = Enumerable.Range(0, 20).Count(_ => bucket.TryAcquire(now));

        Assert.That(admitted, Is.EqualTo(5));
    }

    [Test]
    public void TryAcquire_SustainedFlood_AdmitsBurstPlusRateTimesElapsed()
    {
        var bucket = new TokenBucket(requestsPerSecond: 100, burst: 20);
        var start = 1000 * Second;
        var admitted = 0;

        // 10 000 attempts spread evenly over 3 seconds: far more than the rate.
        for (var i = 0; i < 10_000; i++)
        {
            if (bucket.TryAcquire(start + (3 * Second * i / 10_000)))
            {
                admitted++;
            }
        }

        Assert.That(admitted, Is.InRange(20 + 300 - 1, 20 + 300));
    }

    [Test]
    public void TryAcquire_AfterIdle_RefillsOnlyUpToBurst()
    {
        var bucket = new TokenBucket(requestsPerSecond: 10, burst: 3);
        var now = 1000 * Second;
        while (bucket.TryAcquire(now))
        {
        }

        now += 60 * Second;
        var admitted = Enumerable.Range(0, 10).Count(_ => bucket.TryAcquire(now));

        Assert.That(admitted, Is.EqualTo(3));
    }

    [Test]
    public void TryAcquire_EmptyBucket_OneTokenPerInterval()
    {
        var bucket = new TokenBucket(requestsPerSecond: 4, burst: 1);
        var now = 1000 * Second;
        Assert.That(bucket.TryAcquire(now), Is.True);
        Assert.That(bucket.TryAcquire(now + (Second / 8)), Is.False);
        Assert.That(bucket.TryAcquire(now + (Second / 4)), Is.True);
        Assert.That(bucket.Available(now + (Second / 4)), Is.EqualTo(0).Within(0.001));
    }

    [Test]
    public void TryAcquire_ConcurrentThreads_NeverAdmitsMoreThanBurst()
    {
        var bucket = new TokenBucket(requestsPerSecond: 1, burst: 1000);
        var now = 1000 * Second;
        var admitted = 0;

        Parallel.For(0, 8, _ =>
        {
            for (var i = 0; i < 1000; i++)
            {
                if (bucket.TryAcquire(now))
                {
                    Interlocked.Increment(ref admitted);
                }
            }
        });

        Assert.That(admitted, Is.EqualTo(1000));
    }
}
