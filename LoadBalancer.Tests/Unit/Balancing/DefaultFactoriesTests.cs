using LoadBalancer.Core.Balancing;
using NUnit.Framework;

namespace LoadBalancer.Tests.Unit.Balancing;

[TestFixture]
public class DefaultFactoriesTests
{
    [TestCase(BalancerNames.RoundRobin, BalancerNeeds.None, typeof(RoundRobinBalancer))]
    [TestCase(BalancerNames.LeastConnections, BalancerNeeds.None, typeof(LeastConnectionsBalancer))]
    [TestCase(BalancerNames.WeightedHash, BalancerNeeds.HashKey, typeof(WeightedHashBalancer))]
    public void TryGet_BuiltInName_ReturnsItsFactory(string name, BalancerNeeds needs, Type balancerType)
    {
        Assert.That(BalancerRegistry.Default.TryGet(name, out var factory), Is.True);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(factory!.Name, Is.EqualTo(name));
            Assert.That(factory.Needs, Is.EqualTo(needs));
            Assert.That(factory.Create(TestBackends.WithWeights(1, 2)), Is.InstanceOf(balancerType));
        }
    }

    [Test]
    public void Names_Default_AreExactlyTheThreePolicies()
    {
        Assert.That(BalancerRegistry.Default.Names, Is.EquivalentTo(new[] { BalancerNames.RoundRobin, BalancerNames.LeastConnections, BalancerNames.WeightedHash }));
    }

    [Test]
    public void Create_ZeroWeight_Throws()
    {
        var backends = TestBackends.WithWeights(1, 0);
        foreach (var name in BalancerRegistry.Default.Names)
        {
            BalancerRegistry.Default.TryGet(name, out var factory);
            Assert.That(() => factory!.Create(backends), Throws.InstanceOf<ArgumentOutOfRangeException>(), name);
        }
    }
}
