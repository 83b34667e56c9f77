using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Core.Metrics;

/// <summary>
/// The JSON documents of <c>GET /api/usage</c> (totals per tenant since start: the billing export) and
/// <c>GET /api/tenants</c> (each tenant, its pool and backends, limits and current rates). Serialized with a
/// source-generated <see cref="JsonSerializerContext"/>, so the host stays trimmable and AOT-publishable.
/// </summary>
public static class UsageReport
{
    // Relaxed escaping: people read these documents, served as application/json and never embedded in HTML, so a quote
    // stays `\"` rather than `\u0022` (and `+`, `<`, `'` stay as they are).
    private static readonly JsonSerializerOptions Options = new(UsageJsonContext.Default.Options) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly JsonTypeInfo<UsageDocument> UsageInfo = (JsonTypeInfo<UsageDocument>)Options.GetTypeInfo(typeof(UsageDocument));

    private static readonly JsonTypeInfo<TenantsDocument> TenantsInfo = (JsonTypeInfo<TenantsDocument>)Options.GetTypeInfo(typeof(TenantsDocument));

    public static string Usage(RuntimeSnapshot snapshot, LbMetrics metrics)
    {
        var document = new UsageDocument
        {
            InstanceId = snapshot.Cluster?.InstanceId,
            Since = metrics.StartedAt,
            Generated = DateTimeOffset.UtcNow,
            Tenants = [.. snapshot.Tenants.Values.OrderBy(t => t.Name, StringComparer.Ordinal).Select(TenantUsageOf)],
        };
        return JsonSerializer.Serialize(document, UsageInfo);
    }

    public static string Tenants(RuntimeSnapshot snapshot, LbMetrics metrics)
    {
        var list = new List<TenantStatus>();
        foreach (var tenant in snapshot.Tenants.Values.OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            var state = tenant.State;
            var rate = metrics.Rates.Get(state);
            list.Add(new TenantStatus
            {
                Tenant = tenant.Name,
                Pool = tenant.Pool?.Name,
                Balancer = tenant.Pool?.BalancerName,
                Routes = tenant.Routes.Count == 0 ? null : [.. tenant.Routes.Routes.Select(r => new RouteStatus { Name = r.Name!, Pool = r.Pool.Name })],
                ActiveConnections = state.ActiveConnections,
                InFlight = state.InFlight,
                Limits = new TenantLimits
                {
                    RequestsPerSecond = tenant.RequestsPerSecond,
                    Burst = tenant.Burst,
                    MaxConnections = tenant.MaxConnections > 0 ? tenant.MaxConnections : null,
                    MaxInFlight = tenant.MaxInFlight > 0 ? tenant.MaxInFlight : null,
                    MaxBodyBytes = tenant.MaxBodyBytes >= 0 ? tenant.MaxBodyBytes : null,
                    AccessKeys = tenant.AccessKeys.Length,
                },
                Rates = new TenantRates
                {
                    RequestsPerSecond = Math.Round(rate.RequestsPerSecond, 3),
                    BytesReceivedPerSecond = Math.Round(rate.BytesReceivedPerSecond, 3),
                    BytesSentPerSecond = Math.Round(rate.BytesSentPerSecond, 3),
                    RateLimitTokens = tenant.RateLimitTokens(System.Diagnostics.Stopwatch.GetTimestamp()) is { } tokens ? Math.Round(tokens, 3) : null,
                },
                Backends = [.. (tenant.Pool?.Backends ?? []).Select(b => new BackendStatus
                {
                    Address = b.Config.Address,
                    Weight = b.Weight,
                    Healthy = b.IsAvailable,
                    Active = b.InFlight,
                    Requests = b.Requests,
                    ConnectFailures = b.ConnectFailures,
                })],
            });
        }

        return JsonSerializer.Serialize(new TenantsDocument { Tenants = list }, TenantsInfo);
    }

    private static TenantUsage TenantUsageOf(TenantSnapshot tenant)
    {
        var state = tenant.State;
        var requests = ByStatusClass(state.Requests);

        var refused = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var reason = 0; reason < RefusalReasons.Count; reason++)
        {
            refused[RefusalReasons.Name(reason)] = state.Refused(reason);
        }

        return new TenantUsage
        {
            Tenant = tenant.Name,
            RequestsTotal = state.TotalRequests,
            Requests = requests,
            BytesReceived = state.BytesReceived,
            BytesSent = state.BytesSent,
            RateLimited = state.RateLimited,
            Refused = refused,
            Keys = state.Keys.OrderBy(k => k.Key, StringComparer.Ordinal).ToDictionary(k => k.Key, k => k.Value.Requests, StringComparer.Ordinal),
            DurationSecondsSum = Math.Round(state.Latency.SumSeconds, 6),
            Routes = RoutesOf(state),
            Consumers = ConsumersOf(tenant),
            Connections = state.TcpConnections == 0 ? null : [new ConnectionUsageDocument { Protocol = "tcp", Total = state.TcpConnections, BytesReceived = state.TcpBytesReceived, BytesSent = state.TcpBytesSent }],
        };
    }

    /// <summary>Per consumer name (consumers removed by a reload included, without a quota); null when the tenant never had one.</summary>
    private static Dictionary<string, ConsumerUsageDocument>? ConsumersOf(TenantSnapshot tenant)
    {
        Dictionary<string, ConsumerUsageDocument>? consumers = null;
        foreach (var (name, usage) in tenant.State.Consumers.OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            var requests = ByStatusClass(usage.Requests);

            QuotaDocument? quota = null;
            if (tenant.Consumers.FirstOrDefault(c => c.Name == name) is { Quota: { } counter } consumer)
            {
                var window = counter.Current;
                quota = new QuotaDocument
                {
                    Requests = consumer.QuotaLimit,
                    Period = Consumers.QuotaPeriods.Name(counter.Period),
                    Used = window.Used,
                    PeriodStart = new DateTimeOffset(window.Start),
                    ResetsAt = new DateTimeOffset(window.End),
                };
            }

            consumers ??= new Dictionary<string, ConsumerUsageDocument>(StringComparer.Ordinal);
            consumers[name] = new ConsumerUsageDocument
            {
                RequestsTotal = usage.TotalRequests,
                Requests = requests,
                BytesReceived = usage.BytesReceived,
                BytesSent = usage.BytesSent,
                NotSubscribed = usage.NotSubscribed,
                RateLimited = usage.RateLimited,
                QuotaExceeded = usage.QuotaExceeded,
                Quota = quota,
            };
        }

        return consumers;
    }

    /// <summary>Requests by status class name (none, 1xx .. 5xx).</summary>
    private static Dictionary<string, long> ByStatusClass(Func<int, long> requests)
    {
        var byClass = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var code = 0; code < StatusClasses.Count; code++)
        {
            byClass[StatusClasses.Name(code)] = requests(code);
        }

        return byClass;
    }

    /// <summary>Per route name (routes removed by a reload included); null when the tenant never had a route.</summary>
    private static Dictionary<string, RouteUsageDocument>? RoutesOf(TenantState state)
    {
        Dictionary<string, RouteUsageDocument>? routes = null;
        foreach (var (name, usage) in state.Routes.OrderBy(r => r.Key, StringComparer.Ordinal))
        {
            var requests = ByStatusClass(usage.Requests);

            routes ??= new Dictionary<string, RouteUsageDocument>(StringComparer.Ordinal);
            routes[name] = new RouteUsageDocument
            {
                RequestsTotal = usage.TotalRequests,
                Requests = requests,
                BytesReceived = usage.BytesReceived,
                BytesSent = usage.BytesSent,
                DurationSecondsSum = Math.Round(usage.DurationSecondsSum, 6),
            };
        }

        return routes;
    }
}

public sealed class UsageDocument
{
    /// <summary><c>[cluster] instance_id</c> (omitted without <c>[cluster]</c>): usage is per instance, and this names it.</summary>
    public string? InstanceId { get; init; }

    public DateTimeOffset Since { get; init; }

    public DateTimeOffset Generated { get; init; }

    public List<TenantUsage> Tenants { get; init; } = [];
}

public sealed class TenantUsage
{
    public string Tenant { get; init; } = "";

    public long RequestsTotal { get; init; }

    /// <summary>By status class the client got: none, 1xx .. 5xx.</summary>
    public Dictionary<string, long> Requests { get; init; } = [];

    public long BytesReceived { get; init; }

    public long BytesSent { get; init; }

    public long RateLimited { get; init; }

    public Dictionary<string, long> Refused { get; init; } = [];

    /// <summary>Requests per access key id.</summary>
    public Dictionary<string, long> Keys { get; init; } = [];

    public double DurationSecondsSum { get; init; }

    /// <summary>Per route name: what each route served (requests no route matched count only in the tenant's totals).</summary>
    public Dictionary<string, RouteUsageDocument>? Routes { get; init; }

    /// <summary>Per consumer name: its requests, refusals of its own limits, and its quota's current period.</summary>
    public Dictionary<string, ConsumerUsageDocument>? Consumers { get; init; }

    /// <summary>Connections of tcp listeners (protocol "tcp"), which have no requests; null when the tenant had none.</summary>
    public List<ConnectionUsageDocument>? Connections { get; init; }
}

public sealed class ConnectionUsageDocument
{
    public string Protocol { get; init; } = "";

    /// <summary>Connections admitted and tunnelled to a backend since start.</summary>
    public long Total { get; init; }

    /// <summary>Bytes from clients to backends and back (after TLS when the listener terminates it); also in the tenant's totals.</summary>
    public long BytesReceived { get; init; }

    public long BytesSent { get; init; }
}

public sealed class ConsumerUsageDocument
{
    public long RequestsTotal { get; init; }

    public Dictionary<string, long> Requests { get; init; } = [];

    public long BytesReceived { get; init; }

    public long BytesSent { get; init; }

    public long NotSubscribed { get; init; }

    public long RateLimited { get; init; }

    public long QuotaExceeded { get; init; }

    public QuotaDocument? Quota { get; init; }
}

public sealed class QuotaDocument
{
    public long Requests { get; init; }

    public string Period { get; init; } = "";

    public long Used { get; init; }

    public DateTimeOffset PeriodStart { get; init; }

    public DateTimeOffset ResetsAt { get; init; }
}

public sealed class RouteUsageDocument
{
    public long RequestsTotal { get; init; }

    public Dictionary<string, long> Requests { get; init; } = [];

    public long BytesReceived { get; init; }

    public long BytesSent { get; init; }

    public double DurationSecondsSum { get; init; }
}

public sealed class RouteStatus
{
    public string Name { get; init; } = "";

    public string Pool { get; init; } = "";
}

public sealed class TenantsDocument
{
    public List<TenantStatus> Tenants { get; init; } = [];
}

public sealed class TenantStatus
{
    public string Tenant { get; init; } = "";

    /// <summary>The tenant's (fallback) pool; null when it has only routes.</summary>
    public string? Pool { get; init; }

    public string? Balancer { get; init; }

    /// <summary>The tenant's routes in file order, with their pools; null without routes.</summary>
    public List<RouteStatus>? Routes { get; init; }

    public int ActiveConnections { get; init; }

    public int InFlight { get; init; }

    public TenantLimits Limits { get; init; } = new();

    public TenantRates Rates { get; init; } = new();

    public List<BackendStatus> Backends { get; init; } = [];
}

public sealed class TenantLimits
{
    public long? RequestsPerSecond { get; init; }

    public long? Burst { get; init; }

    public int? MaxConnections { get; init; }

    public int? MaxInFlight { get; init; }

    public long? MaxBodyBytes { get; init; }

    public int AccessKeys { get; init; }
}

public sealed class TenantRates
{
    public double RequestsPerSecond { get; init; }

    public double BytesReceivedPerSecond { get; init; }

    public double BytesSentPerSecond { get; init; }

    /// <summary>Tokens left in the rate-limit bucket, when the tenant has one.</summary>
    public double? RateLimitTokens { get; init; }
}

public sealed class BackendStatus
{
    public string Address { get; init; } = "";

    public int Weight { get; init; }

    public bool Healthy { get; init; }

    public int Active { get; init; }

    public long Requests { get; init; }

    public long ConnectFailures { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(UsageDocument))]
[JsonSerializable(typeof(TenantsDocument))]
internal sealed partial class UsageJsonContext : JsonSerializerContext;
