using LoadBalancer.Core.Health;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.Unit.Health;

[TestFixture]
public sealed class RetryBudgetTests
{
    [Test]
    public void TryRetry_NoTraffic_AllowsTheFloorOnly()
    {
        var budget = new RetryBudget(new ManualClock());
        var granted = Enumerable.Range(0, 50).Count(_ => budget.TryRetry(0.2));
        Assert.That(granted, Is.EqualTo(RetryBudget.MinRetries));
        Assert.That(budget.RetriesDenied, Is.EqualTo(50 - RetryBudget.MinRetries));
    }

    [Test]
    public void TryRetry_FullOutage_RetriesStayWithinTheRatio()
    {
        var clock = new ManualClock();
        var budget = new RetryBudget(clock);
        var granted = 0;
        for (var i = 0; i < 1000; i++)
        {
            budget.OnRequest();
            for (var attempt = 0; attempt < 2; attempt++)
            {
                if (budget.TryRetry(0.2))
                {
                    granted++;
                }
            }

            if (i % 100 == 99)
            {
                clock.Advance(TimeSpan.FromMilliseconds(500));
            }
        }

        // 1000 requests over 5 s, all inside the 10 s window: at most 20% of them plus the floor.
        Assert.That(granted, Is.LessThanOrEqualTo((0.2 * 1000) + RetryBudget.MinRetries));
        Assert.That(granted, Is.GreaterThan(0.2 * 1000 * 0.9));
    }

    [Test]
    public void TryRetry_WindowSlides_OldRetriesStopCounting()
    {
        var clock = new ManualClock();
        var budget = new RetryBudget(clock);
        Assert.That(Enumerable.Range(0, 20).Count(_ => budget.TryRetry(0)), Is.EqualTo(RetryBudget.MinRetries));
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.That(budget.TryRetry(0), Is.False);
        clock.Advance(TimeSpan.FromSeconds(6));
        Assert.That(budget.TryRetry(0), Is.True);
    }
}
