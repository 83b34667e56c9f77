using LoadBalancer.Core.Consumers;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.Unit.Consumers;

/// <summary>Quota periods on UTC calendar boundaries, driven by an injected clock (ManualClock starts at 2025-01-02 00:00:00 UTC).</summary>
[TestFixture]
public sealed class QuotaCounterTests
{
    [TestCase(QuotaPeriod.Minute, "2025-01-02T00:00:00", "2025-01-02T00:01:00")]
    [TestCase(QuotaPeriod.Hour, "2025-01-02T00:00:00", "2025-01-02T01:00:00")]
    [TestCase(QuotaPeriod.Day, "2025-01-02T00:00:00", "2025-01-03T00:00:00")]
    [TestCase(QuotaPeriod.Month, "2025-01-01T00:00:00", "2025-02-01T00:00:00")]
    public void Current_IsTheCalendarPeriodHoldingNow(QuotaPeriod period, string start, string end)
    {
        var window = new QuotaCounter(period, new ManualClock()).Current;
        Assert.That((window.Start, window.End), Is.EqualTo((DateTime.Parse(start, null, System.Globalization.DateTimeStyles.AdjustToUniversal), DateTime.Parse(end, null, System.Globalization.DateTimeStyles.AdjustToUniversal))));
        Assert.That(window.Start.Kind, Is.EqualTo(DateTimeKind.Utc));
    }

    [Test]
    public void Take_CountsWithinThePeriod_AndStartsAgainAtTheBoundary()
    {
        var clock = new ManualClock();
        clock.Advance(TimeSpan.FromSeconds(30)); // 00:00:30
        var quota = new QuotaCounter(QuotaPeriod.Minute, clock);
        Assert.That(quota.Take(out _), Is.EqualTo(1));
        Assert.That(quota.Take(out var window), Is.EqualTo(2));
        Assert.That(quota.SecondsLeft(window), Is.EqualTo(30));

        clock.Advance(TimeSpan.FromSeconds(29.9)); // 00:00:59.9: still the same minute
        Assert.That(quota.Take(out var same), Is.EqualTo(3));
        Assert.That(same, Is.SameAs(window));
        Assert.That(quota.SecondsLeft(same), Is.EqualTo(1), "rounded up, never 0");

        clock.Advance(TimeSpan.FromSeconds(0.1)); // 00:01:00: the next minute
        Assert.That(quota.Take(out var next), Is.EqualTo(1));
        Assert.That(next.Start, Is.EqualTo(window.End));
        Assert.That(window.Used, Is.EqualTo(3), "the old period keeps what was counted in it");
    }

    [Test]
    public void Give_TakesBackARefusedRequest()
    {
        var quota = new QuotaCounter(QuotaPeriod.Day, new ManualClock());
        quota.Take(out var window);
        quota.Take(out _);
        QuotaCounter.Give(window);
        Assert.That(quota.Current.Used, Is.EqualTo(1));
    }

    [Test]
    public void Month_BoundaryFollowsTheCalendar_FebruaryIsShorter()
    {
        var clock = new ManualClock();
        clock.Advance(new DateTime(2025, 2, 10, 0, 0, 0, DateTimeKind.Utc) - clock.GetUtcNow().UtcDateTime);
        var quota = new QuotaCounter(QuotaPeriod.Month, clock);
        var february = quota.Current;
        Assert.That((february.Start, february.End, february.Seconds), Is.EqualTo((new DateTime(2025, 2, 1, 0, 0, 0, DateTimeKind.Utc), new DateTime(2025, 3, 1, 0, 0, 0, DateTimeKind.Utc), 28L * 86400)));
        Assert.That(quota.SecondsLeft(february), Is.EqualTo(19L * 86400));
        clock.Advance(TimeSpan.FromDays(19));
        Assert.That(quota.Current.Start, Is.EqualTo(new DateTime(2025, 3, 1, 0, 0, 0, DateTimeKind.Utc)));
    }

    [Test]
    public void Restore_AddsOnlyToTheCurrentPeriod()
    {
        var quota = new QuotaCounter(QuotaPeriod.Hour, new ManualClock());
        quota.Restore(new DateTime(2025, 1, 1, 23, 0, 0, DateTimeKind.Utc), 50);
        quota.Restore(new DateTime(2025, 1, 2, 0, 0, 0, DateTimeKind.Utc), 7);
        Assert.That(quota.Current.Used, Is.EqualTo(7));
    }
}
