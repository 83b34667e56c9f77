using LoadBalancer.Core.Health;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.Unit.Health;

/// <summary>First tries are counted per event loop (issue 15); the budget a retry sees is every loop's, in its window.</summary>
[TestFixture]
public sealed class RetryBudgetPerLoopTests : TwoLoopEngineFixture
{
    [Test]
    [CancelAfter(20_000)]
    public async Task TryRetry_FirstTriesOnBothLoopsAndOffLoop_AllCount_AndLeaveTheWindow(CancellationToken cancellationToken)
    {
        var clock = new ManualClock();
        var budget = new RetryBudget(clock);
        void Requests(int count)
        {
            for (var i = 0; i < count; i++)
            {
                budget.OnRequest();
            }
        }

        await OnLoop.RunAsync(Engine, 0, () => Requests(100), cancellationToken);
        await OnLoop.RunAsync(Engine, 1, () => Requests(60), cancellationToken);
        Requests(40);

        // 10 + 0.1 x 200 first tries.
        Assert.That(Enumerable.Range(0, 50).Count(_ => budget.TryRetry(0.1)), Is.EqualTo(RetryBudget.MinRetries + 20));

        // Eleven seconds on, every loop's bucket of that second is out of the window, and a new second resets a bucket.
        clock.Advance(TimeSpan.FromSeconds(11));
        await OnLoop.RunAsync(Engine, 1, () => Requests(30), cancellationToken);
        Assert.That(Enumerable.Range(0, 50).Count(_ => budget.TryRetry(0.1)), Is.EqualTo(RetryBudget.MinRetries + 3));
    }
}
