using LoadBalancer.Core.Dashboard;
using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Tests.Unit.Dashboard;

[TestFixture]
public sealed class LatencyQuantilesTests
{
    [Test]
    public void Of_NoRequestsBetweenReadings_ReturnsNull()
    {
        var reading = new long[LatencyQuantiles.Slots];
        reading[3] = 7;
        Assert.That(LatencyQuantiles.Of(reading, reading, 0.5), Is.Null);
    }

    [Test]
    public void Of_InterpolatesInsideTheBucketOfTheRank()
    {
        var before = new long[LatencyQuantiles.Slots];
        var now = new long[LatencyQuantiles.Slots];
        before[1] = 100; // earlier requests do not count
        now[1] = 100;
        now[2] = 100; // 100 requests between 2.5 ms and 5 ms
        Assert.Multiple(() =>
        {
            Assert.That(LatencyQuantiles.Of(now, before, 0.5), Is.EqualTo(3.75).Within(1e-9));
            Assert.That(LatencyQuantiles.Of(now, before, 0.99), Is.EqualTo(4.975).Within(1e-9));
        });
    }

    [Test]
    public void Of_RankInTheInfBucket_ReportsTheLastBound()
    {
        var before = new long[LatencyQuantiles.Slots];
        var now = new long[LatencyQuantiles.Slots];
        now[0] = 50;
        now[^1] = 50;
        Assert.That(LatencyQuantiles.Of(now, before, 0.99), Is.EqualTo(LatencyHistogram.Bounds[^1] * 1000));
    }
}
