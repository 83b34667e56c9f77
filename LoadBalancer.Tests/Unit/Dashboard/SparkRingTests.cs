using LoadBalancer.Core.Dashboard;

namespace LoadBalancer.Tests.Unit.Dashboard;

[TestFixture]
public sealed class SparkRingTests
{
    [Test]
    public void Get_AfterWrapping_ReturnsTheLastSlotsOldestFirst()
    {
        var ring = new SparkRing(fields: 2, slots: 3);
        for (var i = 1; i <= 5; i++)
        {
            ring.Push([i, -i]);
        }

        Assert.Multiple(() =>
        {
            Assert.That(ring.Count, Is.EqualTo(3));
            Assert.That(new[] { ring.Get(0, 0), ring.Get(0, 1), ring.Get(0, 2) }, Is.EqualTo(new float[] { 3, 4, 5 }));
            Assert.That(ring.Get(1, 2), Is.EqualTo(-5));
        });
    }
}
