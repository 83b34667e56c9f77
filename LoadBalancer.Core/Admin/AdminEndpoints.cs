using System.Text;
using LoadBalancer.Core.Metrics;

namespace LoadBalancer.Core.Admin;

/// <summary>The read-only admin endpoints over the live counters: <c>GET /metrics</c>, <c>/api/tenants</c>, <c>/api/usage</c>.</summary>
public static class AdminEndpoints
{
    /// <summary>Answers the request when it is one of these endpoints; null otherwise (the host routes the rest).</summary>
    public static AdminResponse? TryHandle(AdminRequest request, LbMetrics metrics)
    {
        if (request.Method != "GET")
        {
            return null;
        }

        var snapshot = metrics.Snapshots.Current;
        return request.Path switch
        {
            "/metrics" => new AdminResponse(200, PrometheusWriter.ContentType, Encoding.UTF8.GetBytes(PrometheusWriter.Write(snapshot))),
            "/api/tenants" => AdminResponse.Json(200, UsageReport.Tenants(snapshot, metrics)),
            "/api/usage" => AdminResponse.Json(200, UsageReport.Usage(snapshot, metrics)),
            _ => null,
        };
    }
}
