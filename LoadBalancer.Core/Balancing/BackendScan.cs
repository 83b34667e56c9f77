using System.Diagnostics.CodeAnalysis;
using LoadBalancer.Core.Routing;

namespace LoadBalancer.Core.Balancing;

/// <summary>
/// Shared pieces of the policies: the copy-and-validate step of Create and the O(N) last-resort scan of Pick.
/// </summary>
/// <remarks>
/// The <see cref="PickContext.Avoid"/> rule every policy follows: Avoid is skipped whenever another backend is
/// available. When Avoid is the only available backend, it is returned only on the first try
/// (<see cref="PickContext.Attempt"/> == 0); on a retry the pick returns null, because reconnecting straight away to the
/// backend that just failed would only burn the retry budget.
/// </remarks>
internal static class BackendScan
{
    /// <summary>Copies the list into an array the policy owns, so later changes to the caller's list cannot race a pick.</summary>
    public static BackendState[] CopyValidated(IReadOnlyList<BackendState> backends)
    {
        ArgumentNullException.ThrowIfNull(backends);
        var copy = new BackendState[backends.Count];
        for (var i = 0; i < copy.Length; i++)
        {
            var backend = backends[i] ?? throw new ArgumentException("A pool contains a null backend.", nameof(backends));

            // The validator accepts 1..1000; anything else reaching here is a compiler bug, not a config error.
            if (backend.Weight < 1)
            {
                ThrowBadWeight(backend);
            }

            copy[i] = backend;
        }

        return copy;
    }

    /// <summary>
    /// Visits every backend once, starting at <paramref name="start"/>, and returns the first available one that is not
    /// Avoid; failing that, applies the Avoid rule above.
    /// </summary>
    public static BackendState? FirstEligible(BackendState[] backends, int start, in PickContext context)
    {
        var avoid = context.Avoid;
        var avoidAvailable = false;
        var n = backends.Length;
        var i = start;
        for (var k = 0; k < n; k++)
        {
            var b = backends[i];
            if (b.IsAvailable)
            {
                if (b != avoid)
                {
                    return b;
                }

                avoidAvailable = true;
            }

            if (++i == n)
            {
                i = 0;
            }
        }

        // Checking membership through the scan also keeps a foreign Avoid (from another pool) from being returned.
        return avoidAvailable && context.Attempt == 0 ? avoid : null;
    }

    [DoesNotReturn]
    private static void ThrowBadWeight(BackendState backend) =>
        throw new ArgumentOutOfRangeException(nameof(backend), backend.Weight, $"Backend {backend.Config.Address} has weight {backend.Weight}; weights must be >= 1.");
}
