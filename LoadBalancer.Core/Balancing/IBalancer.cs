using LoadBalancer.Core.Routing;

namespace LoadBalancer.Core.Balancing;

/// <summary>One per pool per snapshot. Thread-safe, lock-free and allocation-free per pick.</summary>
public interface IBalancer
{
    /// <summary>Returns the backend for this request, or null when no backend is available.</summary>
    BackendState? Pick(in PickContext context);
}
