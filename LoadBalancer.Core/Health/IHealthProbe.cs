using System.Net;
using LoadBalancer.Core.Routing;

namespace LoadBalancer.Core.Health;

/// <summary>One active check of one backend. Returns false for any failure; the caller's token carries the timeout.</summary>
internal interface IHealthProbe
{
    ValueTask<bool> CheckAsync(IPEndPoint endPoint, string? hostName, HealthCheckSettings settings, CancellationToken cancellationToken);
}
