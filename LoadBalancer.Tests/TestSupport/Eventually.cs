namespace LoadBalancer.Tests.TestSupport;

/// <summary>
/// Usage is counted once a response has been sent, a moment after the client holds it: tests wait for a count (bounded
/// by the test's CancelAfter), never sleep a fixed time.
/// </summary>
public static class Eventually
{
    public static async Task UntilAsync(Func<bool> condition, CancellationToken cancellationToken)
    {
        while (!condition())
        {
            await Task.Delay(10, cancellationToken);
        }
    }
}
