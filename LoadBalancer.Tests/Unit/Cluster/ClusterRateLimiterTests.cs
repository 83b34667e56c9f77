using LoadBalancer.Core.Cluster;

namespace LoadBalancer.Tests.Unit.Cluster;

[TestFixture]
public sealed class ClusterRateLimiterTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    /// <summary>The n-th round's time, one interval apart.</summary>
    private static long Round(int n) => n * Interval.Ticks;

    private static int Admitted(ClusterRateLimiter limiter, int attempts)
    {
        var admitted = 0;
        for (var i = 0; i < attempts; i++)
        {
            if (limiter.TryAcquire())
            {
                admitted++;
            }
        }

        return admitted;
    }

    [Test]
    public void TryAcquire_NewLimiter_AdmitsItsFallbackShareOfTheBurst()
    {
        var limiter = new ClusterRateLimiter("t", requestsPerSecond: 100, burst: 100, instances: 4, Interval);

        Assert.That(limiter.InFallback, Is.True, "a limiter starts on its local share until Redis answers");
        Assert.That(Admitted(limiter, 200), Is.InRange(25, 26), "ceil(100 / 4) at once, maybe one refilled token");
    }

    [Test]
    public void Grant_AdmitsExactlyTheTokensLeased_RefusalsDoNotSpendLaterGrants()
    {
        var limiter = new ClusterRateLimiter("t", 100, 100, 1, Interval);
        limiter.Grant(5);

        Assert.That(limiter.InFallback, Is.False);
        Assert.That(Admitted(limiter, 20), Is.EqualTo(5));
        limiter.Grant(3);
        Assert.That(Admitted(limiter, 20), Is.EqualTo(3), "the 15 refused attempts before this grant spend none of it");
    }

    [Test]
    public void Want_IdleTenant_HoldsItsShareOfOneRound()
    {
        // R * interval = 30 tokens per round for the fleet; a third of that each, so the first request needs no round.
        var limiter = new ClusterRateLimiter("t", 300, 300, 3, Interval);

        Assert.That(limiter.Want(3, Round(1)), Is.EqualTo(10));
        limiter.Grant(10);
        Assert.That(limiter.Want(3, Round(2)), Is.Zero, "it holds its share already");
    }

    [Test]
    public void Want_BusyTenant_TwiceTheLastRoundsAttempts_CappedAtLeaseCap()
    {
        var limiter = new ClusterRateLimiter("t", 300, 300, 3, Interval);
        Assert.That(limiter.LeaseCap, Is.EqualTo(60), "ceil(2 * 300 * 0.1)");
        limiter.Want(3, Round(1));
        limiter.Grant(10);

        Admitted(limiter, 12);
        Assert.That(limiter.Want(3, Round(2)), Is.EqualTo(24), "12 attempts (10 admitted, 2 refused) -> hold 24, holding 0");
        limiter.Grant(24);
        Admitted(limiter, 500);
        Assert.That(limiter.Want(3, Round(3)), Is.EqualTo(60), "never more than the cap");
    }

    [Test]
    public void Want_ShortRound_ScalesTheAttemptsToOneInterval()
    {
        var limiter = new ClusterRateLimiter("t", 300, 300, 3, Interval);
        limiter.Want(3, Round(1));
        limiter.Grant(10);

        Admitted(limiter, 6);
        Assert.That(limiter.Want(3, Round(1) + (Interval.Ticks / 2)), Is.EqualTo(20), "6 attempts in half an interval: 12 per interval, hold 24, holding 4");
    }

    [Test]
    public void Capacity_BurstBelowOneLease_IsRaisedToTheLeaseCap()
    {
        Assert.That(new ClusterRateLimiter("t", 1000, 10, 1, Interval).Capacity, Is.EqualTo(200));
        Assert.That(new ClusterRateLimiter("t", 100, 500, 1, Interval).Capacity, Is.EqualTo(500));
    }

    [Test]
    public void EnterFallback_AfterLeasing_UsesTheShareOfTheLastKnownCount()
    {
        var limiter = new ClusterRateLimiter("t", 90, 90, 1, Interval);
        limiter.Grant(0);
        Assert.That(Admitted(limiter, 5), Is.Zero, "leasing, nothing leased");

        limiter.EnterFallback(3);

        Assert.That(limiter.InFallback, Is.True);
        Assert.That(Admitted(limiter, 100), Is.InRange(30, 31), "ceil(90 / 3)");
    }
}
