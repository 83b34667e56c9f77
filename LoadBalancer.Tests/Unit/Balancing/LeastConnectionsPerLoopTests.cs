using LoadBalancer.Core.Balancing;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.Unit.Balancing;

/// <summary>
/// Least-connections per event loop (issue 15): a loop's pick counts exactly the requests that loop has in flight and
/// none of the other loops' (the stated staleness); under a cap every loop's requests count in one shared, exact
/// field; off every loop the count is global.
/// </summary>
[TestFixture]
public sealed class LeastConnectionsPerLoopTests : TwoLoopEngineFixture
{
    [Test]
    [CancelAfter(20_000)]
    public async Task Pick_OnALoop_SeesItsOwnInFlightExactly_NotTheOtherLoops(CancellationToken cancellationToken)
    {
        var backends = TestBackends.WithWeights(1, 1);
        var (a, b) = (backends[0], backends[1]);
        var balancer = new LeastConnectionsBalancer(backends);

        // Loop 0 has three requests in flight on A.
        var tokens = await OnLoop.RunAsync(Engine, 0, () => new[] { a.EnterInFlight(), a.EnterInFlight(), a.EnterInFlight() }, cancellationToken);

        var onLoop0 = await OnLoop.RunAsync(Engine, 0, () => Enumerable.Range(0, 4).Select(_ => balancer.Pick(default)).ToArray(), cancellationToken);
        var onLoop1 = await OnLoop.RunAsync(Engine, 1, () => Enumerable.Range(0, 4).Select(_ => balancer.Pick(default)).ToArray(), cancellationToken);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(onLoop0, Has.All.SameAs(b), "loop 0 counts its own three on A");
            Assert.That(onLoop1, Has.Some.SameAs(a), "loop 1 does not see loop 0's requests: A and B tie there");
            Assert.That(balancer.Pick(default), Is.SameAs(b), "off every loop the count is global");
            Assert.That(a.InFlight, Is.EqualTo(3), "the exported count sums the loops");
        }

        // Ended on another thread: they leave loop 0's count, so no loop's view drifts.
        foreach (var token in tokens)
        {
            a.ExitInFlight(token);
        }

        Assert.That(await OnLoop.RunAsync(Engine, 0, () => a.InFlightHere, cancellationToken), Is.Zero);
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task Pick_UnderACap_SeesEveryLoopsRequests(CancellationToken cancellationToken)
    {
        var backends = TestBackends.WithWeights(1, 1);
        var (a, b) = (backends[0], backends[1]);
        var balancer = new LeastConnectionsBalancer(backends);

        // max_connections_per_backend: slots are taken in the shared field, which every loop reads.
        var taken = await OnLoop.RunAsync(Engine, 0, () => Enumerable.Range(0, 3).All(_ => a.TryEnterInFlight(10, out _)), cancellationToken);
        Assert.That(taken, Is.True);
        var onLoop1 = await OnLoop.RunAsync(Engine, 1, () => Enumerable.Range(0, 4).Select(_ => balancer.Pick(default)).ToArray(), cancellationToken);
        Assert.That(onLoop1, Has.All.SameAs(b));
    }
}
