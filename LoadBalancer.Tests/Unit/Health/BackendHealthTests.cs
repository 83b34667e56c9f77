using System.Net;
using LoadBalancer.Core.Health;
using LoadBalancer.Core.Routing;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.Unit.Health;

/// <summary>The health model on BackendState: rise/fall, ejection and its growth, drain, slow start; on a manual clock.</summary>
[TestFixture]
public sealed class BackendHealthTests
{
    private static readonly OutlierSettings Outlier = new() { ConsecutiveFailures = 3, BaseEjection = TimeSpan.FromSeconds(10), MaxEjectedShare = 0.5 };

    private ManualClock _clock = null!;

    [SetUp]
    public void SetUp() => _clock = new ManualClock();

    private BackendState Backend(int id = 0, TimeSpan slowStart = default)
    {
        var state = new BackendState(new Backend($"127.0.0.1:{9000 + id}", new IPEndPoint(IPAddress.Loopback, 9000 + id), 1)) { Clock = _clock };
        state.SlowStart = slowStart;
        return state;
    }

    private BackendState[] Pool(int count)
    {
        var pool = new BackendState[count];
        for (var i = 0; i < count; i++)
        {
            pool[i] = Backend(i);
        }

        return pool;
    }

    [Test]
    public void RecordCheck_FallFailuresInARow_GoesDownOnlyOnTheLast()
    {
        var b = Backend();
        Assert.That(b.RecordCheck(false, rise: 2, fall: 3), Is.EqualTo(HealthTransition.None));
        Assert.That(b.RecordCheck(false, 2, 3), Is.EqualTo(HealthTransition.None));
        Assert.That(b.IsAvailable, Is.True);
        Assert.That(b.RecordCheck(false, 2, 3), Is.EqualTo(HealthTransition.Down));
        Assert.That((b.IsAvailable, b.IsDown, b.HealthStatus), Is.EqualTo((false, true, "down")));
    }

    [Test]
    public void RecordCheck_SuccessInBetween_RestartsTheFallCount()
    {
        var b = Backend();
        b.RecordCheck(false, 2, 3);
        b.RecordCheck(false, 2, 3);
        b.RecordCheck(true, 2, 3);
        b.RecordCheck(false, 2, 3);
        Assert.That(b.RecordCheck(false, 2, 3), Is.EqualTo(HealthTransition.None));
        Assert.That(b.IsAvailable, Is.True);
    }

    [Test]
    public void RecordCheck_DownBackend_ComesUpAfterRiseSuccessesInARow()
    {
        var b = Backend();
        b.RecordCheck(false, 2, 1);
        Assert.That(b.IsDown, Is.True);
        Assert.That(b.RecordCheck(true, 2, 1), Is.EqualTo(HealthTransition.None));
        b.RecordCheck(false, 2, 1);
        Assert.That(b.RecordCheck(true, 2, 1), Is.EqualTo(HealthTransition.None));
        Assert.That(b.RecordCheck(true, 2, 1), Is.EqualTo(HealthTransition.Up));
        Assert.That(b.IsAvailable, Is.True);
    }

    [Test]
    public void ResetActiveCheck_DownBackend_IsUpAgain()
    {
        var b = Backend();
        b.RecordCheck(false, 1, 1);
        b.ResetActiveCheck();
        Assert.That(b.IsAvailable, Is.True);
    }

    [Test]
    public void RecordFailure_ConsecutiveFailures_EjectsUntilBaseEjectionEnds()
    {
        var pool = Pool(3);
        var b = pool[0];
        Assert.That(b.RecordFailure(Outlier, pool), Is.False);
        Assert.That(b.RecordFailure(Outlier, pool), Is.False);
        Assert.That(b.RecordFailure(Outlier, pool), Is.True);
        Assert.That((b.IsAvailable, b.IsEjected, b.HealthStatus), Is.EqualTo((false, true, "ejected")));

        _clock.Advance(TimeSpan.FromSeconds(9.9));
        Assert.That(b.IsAvailable, Is.False);
        _clock.Advance(TimeSpan.FromSeconds(0.1));
        Assert.That((b.IsAvailable, b.IsEjected), Is.EqualTo((true, false)));
    }

    [Test]
    public void RecordFailure_WhileEjected_DoesNotCountTowardsTheNextEjection()
    {
        var pool = Pool(3);
        var b = pool[0];
        b.Eject(Outlier.BaseEjection);
        for (var i = 0; i < 5; i++)
        {
            b.RecordFailure(Outlier, pool);
        }

        _clock.Advance(Outlier.BaseEjection);
        Assert.That(b.RecordFailure(Outlier, pool), Is.False, "one failure after the ejection is not three in a row");
        Assert.That(b.IsAvailable, Is.True);
    }

    [Test]
    public void RecordSuccess_BetweenFailures_RestartsTheStreak()
    {
        var pool = Pool(3);
        var b = pool[0];
        b.RecordFailure(Outlier, pool);
        b.RecordFailure(Outlier, pool);
        b.RecordSuccess();
        Assert.That(b.RecordFailure(Outlier, pool), Is.False);
        Assert.That(b.ConsecutiveFailures, Is.EqualTo(1));
    }

    [Test]
    public void RecordFailure_RepeatedEjections_LastLongerEachTime()
    {
        var pool = Pool(3);
        var b = pool[0];
        b.Eject(Outlier.BaseEjection);
        _clock.Advance(TimeSpan.FromSeconds(10));
        Assert.That(b.IsAvailable, Is.True);

        b.Eject(Outlier.BaseEjection);
        Assert.That(b.Ejections, Is.EqualTo(2));
        Assert.That(b.EjectionRemaining, Is.EqualTo(TimeSpan.FromSeconds(20)));
        _clock.Advance(TimeSpan.FromSeconds(19));
        Assert.That(b.IsAvailable, Is.False);
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.That(b.IsAvailable, Is.True);
    }

    [Test]
    public void Eject_AfterLongHealthyPeriod_MultiplierDecays()
    {
        var b = Backend();
        b.Eject(TimeSpan.FromSeconds(10));
        _clock.Advance(TimeSpan.FromSeconds(10));
        b.Eject(TimeSpan.FromSeconds(10));
        _clock.Advance(TimeSpan.FromSeconds(20));

        // Healthy for 3 base periods after the second ejection: the multiplier is back to 0, so this one is #1.
        _clock.Advance(TimeSpan.FromSeconds(30));
        b.Eject(TimeSpan.FromSeconds(10));
        Assert.That(b.Ejections, Is.EqualTo(1));
        Assert.That(b.EjectionRemaining, Is.EqualTo(TimeSpan.FromSeconds(10)));
    }

    [Test]
    public void Eject_ManyTimes_CappedAtFiveMinutes()
    {
        var b = Backend();
        for (var i = 0; i < 100; i++)
        {
            b.Eject(TimeSpan.FromSeconds(10));
        }

        Assert.That(b.EjectionRemaining, Is.EqualTo(TimeSpan.FromMinutes(5)));
    }

    [Test]
    public void RecordFailure_MaxEjectedShareReached_DoesNotEject()
    {
        var pool = Pool(4);
        for (var i = 0; i < 3; i++)
        {
            pool[0].RecordFailure(Outlier, pool);
            pool[1].RecordFailure(Outlier, pool);
            pool[2].RecordFailure(Outlier, pool);
        }

        // 0.5 of 4 = 2 may be ejected at once.
        Assert.That(pool.Count(b => b.IsEjected), Is.EqualTo(2));
        Assert.That(pool[2].IsAvailable, Is.True);

        // When one ejection ends, the next failure of the third may take its place.
        _clock.Advance(TimeSpan.FromSeconds(10));
        Assert.That(pool[2].RecordFailure(Outlier, pool), Is.True);
    }

    [Test]
    public void RecordFailure_SingleBackendPool_NeverEjected()
    {
        var pool = Pool(1);
        for (var i = 0; i < 10; i++)
        {
            pool[0].RecordFailure(Outlier, pool);
        }

        Assert.That(pool[0].IsAvailable, Is.True);
    }

    [Test]
    public void RecordFailure_ConsecutiveFailuresZero_Disabled()
    {
        var pool = Pool(2);
        for (var i = 0; i < 100; i++)
        {
            pool[0].RecordFailure(Outlier with { ConsecutiveFailures = 0 }, pool);
        }

        Assert.That(pool[0].IsAvailable, Is.True);
    }

    [Test]
    public void DrainAndEnable_IndependentOfOtherSources()
    {
        var b = Backend();
        b.Drain();
        Assert.That((b.IsAvailable, b.IsDrained, b.HealthStatus), Is.EqualTo((false, true, "drained")));
        b.RecordCheck(false, 1, 1);
        b.Enable();
        Assert.That((b.IsAvailable, b.IsDown), Is.EqualTo((false, true)), "still down by active checks");
        b.RecordCheck(true, 1, 1);
        Assert.That(b.IsAvailable, Is.True);
    }

    [Test]
    public void IsAvailableSetter_ForcesOffAndBackOn()
    {
        var b = Backend();
        b.IsAvailable = false;
        Assert.That(b.IsAvailable, Is.False);
        b.IsAvailable = true;
        Assert.That(b.IsAvailable, Is.True);
    }

    [Test]
    public void SlowStart_AfterRise_RampsLinearlyFromTenPercent()
    {
        var b = Backend(slowStart: TimeSpan.FromSeconds(30));
        Assert.That(b.Ramp, Is.EqualTo(1.0), "a backend that never went down is at full weight");
        b.RecordCheck(false, 1, 1);
        b.RecordCheck(true, 1, 1);
        Assert.That(b.Ramp, Is.EqualTo(0.1).Within(0.001));
        Assert.That(b.HealthStatus, Is.EqualTo("ramping"));
        _clock.Advance(TimeSpan.FromSeconds(15));
        Assert.That(b.Ramp, Is.EqualTo(0.55).Within(0.002));
        _clock.Advance(TimeSpan.FromSeconds(15));
        Assert.That(b.Ramp, Is.EqualTo(1.0));
        Assert.That(b.HealthStatus, Is.EqualTo("up"));
    }

    [Test]
    public void SlowStart_AfterEjection_RampStartsWhenTheEjectionEnds()
    {
        var b = Backend(slowStart: TimeSpan.FromSeconds(10));
        b.Eject(TimeSpan.FromSeconds(5));
        _clock.Advance(TimeSpan.FromSeconds(5));
        Assert.That(b.IsAvailable, Is.True);
        Assert.That(b.Ramp, Is.EqualTo(0.1).Within(0.001));
        _clock.Advance(TimeSpan.FromSeconds(10));
        Assert.That(b.Ramp, Is.EqualTo(1.0));
    }

    [Test]
    public void SlowStart_Off_NoRamp()
    {
        var b = Backend();
        b.RecordCheck(false, 1, 1);
        b.RecordCheck(true, 1, 1);
        Assert.That(b.Ramp, Is.EqualTo(1.0));
    }

    [Test]
    public void AcceptsPick_WhileRamping_AcceptsTheRampShareOfDraws()
    {
        var b = Backend(slowStart: TimeSpan.FromSeconds(30));
        b.Drain();
        b.Enable();
        _clock.Advance(TimeSpan.FromSeconds(10));
        var accepted = 0;
        const int Draws = 100_000;
        for (var i = 0; i < Draws; i++)
        {
            if (b.AcceptsPick(BackendState.Draw((ulong)i)))
            {
                accepted++;
            }
        }

        Assert.That(accepted / (double)Draws, Is.EqualTo(b.Ramp).Within(0.01));
    }
}
