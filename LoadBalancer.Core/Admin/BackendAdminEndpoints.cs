using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using LoadBalancer.Core.Metrics;
using LoadBalancer.Core.Routing;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Core.Admin;

/// <summary>
/// Backend health and drain on the admin listener, without a reload:
/// <c>GET /api/pools</c> (every pool's backends with their health),
/// <c>POST /api/pools/{pool}/backends/{address}/drain</c> (no new requests; in-flight ones finish) and
/// <c>POST /api/pools/{pool}/backends/{address}/enable</c> (back in rotation, under slow start).
/// The address is the backend's address as written in lb.toml (percent-encoding accepted). A drain lives in the
/// backend's state, so it survives reloads that keep the backend.
/// </summary>
public static class BackendAdminEndpoints
{
    private const string Prefix = "/api/pools";

    /// <summary>Answers the request when it is one of these endpoints; null otherwise (the host routes the rest).</summary>
    public static AdminResponse? TryHandle(AdminRequest request, RuntimeSnapshot snapshot, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(snapshot);
        if (!request.Path.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }

        if (request.Path.Length == Prefix.Length || request.Path == Prefix + "/")
        {
            return request.Method == "GET" ? AdminResponse.Json(200, PoolsJson(snapshot)) : MethodNotAllowed("GET");
        }

        // /api/pools/{pool}/backends/{address}/{action}
        var parts = request.Path[(Prefix.Length + 1)..].Split('/');
        if (parts.Length != 4 || parts[1] != "backends" || parts[3] is not ("drain" or "enable"))
        {
            return null;
        }

        if (request.Method != "POST")
        {
            return MethodNotAllowed("POST");
        }

        var poolName = Uri.UnescapeDataString(parts[0]);
        var address = Uri.UnescapeDataString(parts[2]);
        if (!snapshot.Pools.TryGetValue(poolName, out var pool))
        {
            return Error(404, $"no pool named \"{poolName}\"");
        }

        var backend = Find(pool, address);
        if (backend is null)
        {
            return Error(404, $"pool \"{poolName}\" has no backend \"{address}\"");
        }

        var drain = parts[3] == "drain";
        if (drain)
        {
            backend.Drain();
        }
        else
        {
            backend.Enable();
        }

        if (logger is not null)
        {
            HealthLog.AdminAction(logger, backend.Config.Address, pool.Name, drain ? "drained" : "enabled", backend.InFlight);
        }

        return AdminResponse.Json(200, Json(writer => WriteBackend(writer, backend)));
    }

    private static BackendState? Find(PoolSnapshot pool, string address)
    {
        foreach (var backend in pool.Backends)
        {
            if (backend.Config.Address == address || backend.Config.EndPoint.ToString() == address)
            {
                return backend;
            }
        }

        return null;
    }

    /// <summary><c>{"pools":[{"name":..,"health_check":"http"|"tcp"|null,"backends":[...]}]}</c>.</summary>
    public static string PoolsJson(RuntimeSnapshot snapshot) => Json(writer =>
    {
        writer.WriteStartObject();
        writer.WriteStartArray("pools");
        foreach (var pool in snapshot.Pools.Values.OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            writer.WriteStartObject();
            writer.WriteString("name", pool.Name);
            if (pool.HealthCheck is { } check)
            {
                writer.WriteString("health_check", check.Kind == HealthCheckKind.Http ? "http" : "tcp");
            }
            else
            {
                writer.WriteNull("health_check");
            }

            writer.WriteNumber("retries_total", pool.RetryBudget.RetriesTotal);
            writer.WriteNumber("retries_denied", pool.RetryBudget.RetriesDenied);
            writer.WriteStartArray("backends");
            foreach (var backend in pool.Backends)
            {
                WriteBackend(writer, backend);
            }

            writer.WriteEndArray();
            WriteDns(writer, pool);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    });

    /// <summary>
    /// <c>"dns":[{"address":"api.internal:8443","name":"api.internal","addresses":["10.0.0.7"],"ttl_seconds":30,
    /// "last_result":"ok"|"nxdomain"|"empty"|"failed"|null,"resolutions":{"ok":3,...}}]</c>: the pool's backend names and
    /// what each resolves to now (the last good answer while a failure is held). Empty for a pool of IP literals.
    /// </summary>
    private static void WriteDns(Utf8JsonWriter writer, PoolSnapshot pool)
    {
        writer.WriteStartArray("dns");
        foreach (var target in pool.DnsTargets)
        {
            var answer = target.Answer;
            writer.WriteStartObject();
            writer.WriteString("address", target.Entry);
            writer.WriteString("name", target.Host);
            writer.WriteNumber("port", target.Port);
            writer.WriteStartArray("addresses");
            foreach (var backend in answer.Backends)
            {
                writer.WriteStringValue(backend.Config.EndPoint.Address.ToString());
            }

            writer.WriteEndArray();
            writer.WriteNumber("ttl_seconds", (long)answer.Ttl.TotalSeconds);
            if (target.LastResult is { } last)
            {
                writer.WriteString("last_result", Dns.DnsTarget.ResultName(last));
            }
            else
            {
                writer.WriteNull("last_result");
            }

            writer.WriteStartObject("resolutions");
            for (var result = Dns.DnsResult.Ok; result <= Dns.DnsResult.Failed; result++)
            {
                writer.WriteNumber(Dns.DnsTarget.ResultName(result), target.Resolutions(result));
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }

    /// <summary>One backend's health as JSON; the shape /api/tenants and /api/pools share.</summary>
    public static void WriteBackend(Utf8JsonWriter writer, BackendState backend)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(backend);
        writer.WriteStartObject();
        writer.WriteString("address", backend.Config.Address);
        if (backend.Config.HostName is { } hostName)
        {
            writer.WriteString("host_name", hostName);
        }

        writer.WriteString("status", backend.HealthStatus);
        writer.WriteBoolean("available", backend.IsAvailable);
        writer.WriteBoolean("down", backend.IsDown);
        writer.WriteBoolean("ejected", backend.IsEjected);
        writer.WriteBoolean("drained", backend.IsDrained);
        writer.WriteNumber("weight", backend.Weight);
        writer.WriteNumber("effective_weight", Math.Round(backend.EffectiveWeight, 3));
        writer.WriteNumber("in_flight", backend.InFlight);
        writer.WriteNumber("consecutive_failures", backend.ConsecutiveFailures);
        writer.WriteNumber("ejections", backend.Ejections);
        writer.WriteNumber("ejection_remaining_ms", (long)backend.EjectionRemaining.TotalMilliseconds);
        writer.WriteEndObject();
    }

    private static AdminResponse MethodNotAllowed(string allowed) => Error(405, $"method not allowed (use {allowed})");

    private static AdminResponse Error(int status, string message) => AdminResponse.Json(status, Json(writer =>
    {
        writer.WriteStartObject();
        writer.WriteString("error", message);
        writer.WriteEndObject();
    }));

    private static string Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            write(writer);
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan) + "\n";
    }
}
