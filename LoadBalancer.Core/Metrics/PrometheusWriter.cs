using System.Globalization;
using System.Text;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Core.Metrics;

/// <summary>
/// Renders <c>GET /metrics</c> in the Prometheus text exposition format 0.0.4: one <c># HELP</c> and <c># TYPE</c>
/// per family, then its samples; label values escaped (backslash, double quote, newline). Reads the live counters of
/// the current snapshot; runs on the admin path, so it may allocate.
/// </summary>
public static class PrometheusWriter
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public static string Write(RuntimeSnapshot snapshot)
    {
        var text = new Exposition(new StringBuilder(8192), snapshot.Cluster?.InstanceId);
        var tenants = snapshot.Tenants.Values.OrderBy(t => t.Name, StringComparer.Ordinal).ToArray();

        Family(text, "lb_requests_total", "counter", "Requests per tenant by the status class the client got (lb's own answers included).");
        foreach (var tenant in tenants)
        {
            for (var code = 0; code < StatusClasses.Count; code++)
            {
                Sample(text, "lb_requests_total", [("tenant", tenant.Name), ("code", StatusClasses.Name(code))], tenant.State.Requests(code));
            }
        }

        Family(text, "lb_request_duration_seconds", "histogram", "Time from a request head being read to its response being sent.");
        foreach (var tenant in tenants)
        {
            var histogram = tenant.State.Latency;
            long cumulative = 0;
            for (var i = 0; i <= LatencyHistogram.Bounds.Length; i++)
            {
                cumulative += histogram.Bucket(i);
                var le = i < LatencyHistogram.Bounds.Length ? Number(LatencyHistogram.Bounds[i]) : "+Inf";
                Sample(text, "lb_request_duration_seconds_bucket", [("tenant", tenant.Name), ("le", le)], cumulative);
            }

            Sample(text, "lb_request_duration_seconds_sum", [("tenant", tenant.Name)], histogram.SumSeconds);
            Sample(text, "lb_request_duration_seconds_count", [("tenant", tenant.Name)], cumulative);
        }

        PerTenant(text, tenants, "lb_bytes_received_total", "counter", "Bytes received from clients (heads and bodies).", s => s.BytesReceived);
        PerTenant(text, tenants, "lb_bytes_sent_total", "counter", "Bytes sent to clients (heads and bodies).", s => s.BytesSent);
        PerTenant(text, tenants, "lb_active_connections", "gauge", "Client connections whose latest request was for the tenant.", s => s.ActiveConnections);
        PerTenant(text, tenants, "lb_in_flight_requests", "gauge", "Requests admitted and not yet answered.", s => s.InFlight);
        PerTenant(text, tenants, "lb_rate_limited_total", "counter", "Requests answered 429 by the tenant's rate_limit.", s => s.RateLimited);

        Family(text, "lb_refused_total", "counter", "Requests lb answered itself: 401 missing_key, 403 invalid_key, 413 body_too_large, 503 max_connections, max_in_flight, backend_busy, 404 no_route.");
        foreach (var tenant in tenants)
        {
            for (var reason = 0; reason < RefusalReasons.Count; reason++)
            {
                Sample(text, "lb_refused_total", [("tenant", tenant.Name), ("reason", RefusalReasons.Name(reason))], tenant.State.Refused(reason));
            }
        }

        Family(text, "lb_access_key_requests_total", "counter", "Requests per tenant and access key id.");
        foreach (var tenant in tenants)
        {
            foreach (var (id, usage) in tenant.State.Keys.OrderBy(k => k.Key, StringComparer.Ordinal))
            {
                Sample(text, "lb_access_key_requests_total", [("tenant", tenant.Name), ("key_id", id)], usage.Requests);
            }
        }

        WriteRoutes(text, tenants);
        WriteConnections(text, tenants);

        var backends = snapshot.Pools.Values.OrderBy(p => p.Name, StringComparer.Ordinal).SelectMany(p => p.Backends.Select(b => (Pool: p.Name, Backend: b))).ToArray();
        PerBackend(text, backends, "lb_backend_requests_total", "counter", "Requests answered through the backend.", b => b.Requests);
        PerBackend(text, backends, "lb_backend_active_requests", "gauge", "Requests in flight to the backend.", b => b.InFlight);
        PerBackend(text, backends, "lb_backend_connect_failures_total", "counter", "Failed connects to the backend.", b => b.ConnectFailures);
        PerBackend(text, backends, "lb_backend_tls_failures_total", "counter", "Failed TLS handshakes to the backend (verification included; each is also a connect failure).", b => b.TlsFailures);
        PerBackend(text, backends, "lb_backend_queued_total", "counter", "Requests that waited for a slot under max_connections_per_backend.", b => b.Queued);
        Family(text, "lb_backend_connections_discarded_total", "counter", "Backend connections closed instead of kept for reuse, by reason.");
        foreach (var (pool, backend) in backends)
        {
            for (var reason = 0; reason < DiscardReasons.Count; reason++)
            {
                Sample(text, "lb_backend_connections_discarded_total", [("pool", pool), ("backend", backend.Config.Address), ("reason", DiscardReasons.Name(reason))], backend.Discarded(reason));
            }
        }

        PerBackend(text, backends, "lb_backend_up", "gauge", "1 while the backend may be picked, else 0.", b => b.IsAvailable ? 1 : 0);

        Family(text, "lb_tls_handshakes_total", "counter", "TLS handshakes on TLS listeners by result: ok, resumed, failed (includes plain HTTP to a TLS port), timeout, no_certificate.");
        foreach (var listener in snapshot.Listeners.OrderBy(l => l.Name, StringComparer.Ordinal))
        {
            if (listener.Tls is { } tls)
            {
                for (var result = 0; result < Tls.TlsHandshakeCounters.Count; result++)
                {
                    Sample(text, "lb_tls_handshakes_total", [("listener", listener.Name), ("result", Tls.TlsHandshakeCounters.Name((Tls.TlsHandshakeResult)result))], tls.Counters[(Tls.TlsHandshakeResult)result]);
                }
            }
        }

        Family(text, "lb_http2_protocol_errors_total", "counter", "HTTP/2 client errors on listeners with http2 on, by kind: protocol, malformed_request, rapid_reset, continuation_flood, header_list_too_large, compression, flow_control, frame_size, refused_stream.");
        foreach (var listener in snapshot.Listeners.OrderBy(l => l.Name, StringComparer.Ordinal))
        {
            if (listener.Http2)
            {
                for (var kind = 0; kind < Http2.Http2ErrorCounters.Count; kind++)
                {
                    Sample(text, "lb_http2_protocol_errors_total", [("listener", listener.Name), ("kind", Http2.Http2ErrorCounters.Name((Http2.Http2ErrorKind)kind))], listener.Http2Errors[(Http2.Http2ErrorKind)kind]);
                }
            }
        }

        Family(text, "lb_dns_resolutions_total", "counter", "Resolutions of backend names (address = \"name:port\") by pool, name and result: ok, nxdomain, empty (no A/AAAA record), failed.");
        foreach (var pool in snapshot.Pools.Values.OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            // Two entries of a pool may share a name (different ports): one sample per name, their sum.
            foreach (var host in pool.DnsTargets.Select(t => t.Host).Distinct(StringComparer.Ordinal))
            {
                for (var result = Dns.DnsResult.Ok; result <= Dns.DnsResult.Failed; result++)
                {
                    var count = 0L;
                    foreach (var target in pool.DnsTargets)
                    {
                        count += target.Host == host ? target.Resolutions(result) : 0;
                    }

                    Sample(text, "lb_dns_resolutions_total", [("pool", pool.Name), ("name", host), ("result", Dns.DnsTarget.ResultName(result))], count);
                }
            }
        }

        Family(text, "lb_access_log_dropped_total", "counter", "Access-log lines dropped because the writer fell behind.");
        Sample(text, "lb_access_log_dropped_total", [], snapshot.AccessLog?.Dropped ?? 0);
        Family(text, "lb_access_log_lines_total", "counter", "Access-log lines written.");
        Sample(text, "lb_access_log_lines_total", [], snapshot.AccessLog?.Written ?? 0);
        if (snapshot.Cluster is { Redis: not null, State: var cluster })
        {
            Family(text, "lb_cluster_redis_up", "gauge", "1 while Redis answers the sync rounds ([cluster] redis); 0 while rate limits fall back to this instance's share.");
            Sample(text, "lb_cluster_redis_up", [], cluster.RedisUp ? 1 : 0);
            Family(text, "lb_cluster_instances", "gauge", "Live lb instances Redis last reported (this one included); the fallback divides each limit by it.");
            Sample(text, "lb_cluster_instances", [], cluster.Instances);
            Family(text, "lb_cluster_sync_failures_total", "counter", "Sync rounds with Redis that failed (not connected, timed out, an error reply).");
            Sample(text, "lb_cluster_sync_failures_total", [], cluster.Failures);
        }

        return text.Text.ToString();
    }

    /// <summary>
    /// Per tenant and route (issue 13): the per-tenant families again with a <c>route</c> label, as families of their
    /// own so the existing ones keep their series. Requests no route matched count only in the per-tenant families.
    /// </summary>
    private static void WriteRoutes(Exposition text, TenantSnapshot[] tenants)
    {
        var routes = new List<(string Tenant, string Route, Routes.RouteUsage Usage)>();
        foreach (var tenant in tenants)
        {
            foreach (var (name, usage) in tenant.State.Routes.OrderBy(r => r.Key, StringComparer.Ordinal))
            {
                routes.Add((tenant.Name, name, usage));
            }
        }

        Family(text, "lb_route_requests_total", "counter", "Requests per tenant and route by the status class the client got.");
        foreach (var (tenant, route, usage) in routes)
        {
            for (var code = 0; code < StatusClasses.Count; code++)
            {
                Sample(text, "lb_route_requests_total", [("tenant", tenant), ("route", route), ("code", StatusClasses.Name(code))], usage.Requests(code));
            }
        }

        Family(text, "lb_route_bytes_received_total", "counter", "Bytes received from clients per tenant and route.");
        foreach (var (tenant, route, usage) in routes)
        {
            Sample(text, "lb_route_bytes_received_total", [("tenant", tenant), ("route", route)], usage.BytesReceived);
        }

        Family(text, "lb_route_bytes_sent_total", "counter", "Bytes sent to clients per tenant and route.");
        foreach (var (tenant, route, usage) in routes)
        {
            Sample(text, "lb_route_bytes_sent_total", [("tenant", tenant), ("route", route)], usage.BytesSent);
        }

        Family(text, "lb_route_request_duration_seconds_total", "counter", "Sum of request durations per tenant and route.");
        foreach (var (tenant, route, usage) in routes)
        {
            Sample(text, "lb_route_request_duration_seconds_total", [("tenant", tenant), ("route", route)], usage.DurationSecondsSum);
        }
    }

    /// <summary>
    /// Per tenant, the connections of tcp listeners (<c>protocol="tcp"</c>), which have no requests: samples only for
    /// tenants that had one (tunnelled or refused), so a fleet of http-only tenants adds no series.
    /// </summary>
    private static void WriteConnections(Exposition text, TenantSnapshot[] tenants)
    {
        var tcp = new List<TenantSnapshot>();
        foreach (var tenant in tenants)
        {
            if (tenant.State.TcpConnections + tenant.State.TcpRefused > 0)
            {
                tcp.Add(tenant);
            }
        }

        ConnectionFamily(text, tcp, "lb_connections_total", "Connections of tcp listeners admitted and tunnelled to a backend.", s => s.TcpConnections);
        ConnectionFamily(text, tcp, "lb_connections_refused_total", "Connections of tcp listeners refused at the tenant's max_connections (also in lb_refused_total).", s => s.TcpRefused);
        ConnectionFamily(text, tcp, "lb_connection_bytes_received_total", "Bytes from clients of tcp listeners forwarded to backends (plaintext after TLS; also in lb_bytes_received_total).", s => s.TcpBytesReceived);
        ConnectionFamily(text, tcp, "lb_connection_bytes_sent_total", "Bytes from backends forwarded to clients of tcp listeners (also in lb_bytes_sent_total).", s => s.TcpBytesSent);
        Family(text, "lb_connection_duration_seconds_total", "counter", "Sum of the durations of tcp listeners' tunnels that ended.");
        foreach (var tenant in tcp)
        {
            Sample(text, "lb_connection_duration_seconds_total", [("tenant", tenant.Name), ("protocol", "tcp")], tenant.State.TcpDurationTicks / (double)System.Diagnostics.Stopwatch.Frequency);
        }
    }

    private static void ConnectionFamily(Exposition text, List<TenantSnapshot> tenants, string name, string help, Func<TenantState, long> read)
    {
        Family(text, name, "counter", help);
        foreach (var tenant in tenants)
        {
            Sample(text, name, [("tenant", tenant.Name), ("protocol", "tcp")], read(tenant.State));
        }
    }

    private static void PerTenant(Exposition text, TenantSnapshot[] tenants, string name, string type, string help, Func<TenantState, long> read)
    {
        Family(text, name, type, help);
        foreach (var tenant in tenants)
        {
            Sample(text, name, [("tenant", tenant.Name)], read(tenant.State));
        }
    }

    private static void PerBackend(Exposition text, (string Pool, BackendState Backend)[] backends, string name, string type, string help, Func<BackendState, long> read)
    {
        Family(text, name, type, help);
        foreach (var (pool, backend) in backends)
        {
            Sample(text, name, [("pool", pool), ("backend", backend.Config.Address)], read(backend));
        }
    }

    private static void Family(Exposition text, string name, string type, string help)
    {
        text.Text.Append("# HELP ").Append(name).Append(' ').Append(EscapeHelp(help)).Append('\n');
        text.Text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
    }

    private static void Sample(Exposition text, string name, (string Name, string Value)[] labels, long value)
        => Labels(text, name, labels).Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');

    private static void Sample(Exposition text, string name, (string Name, string Value)[] labels, double value)
        => Labels(text, name, labels).Append(Number(value)).Append('\n');

    /// <summary>The sample's name and labels; with <c>[cluster]</c>, <c>instance_id</c> comes last on every sample.</summary>
    private static StringBuilder Labels(Exposition exposition, string name, (string Name, string Value)[] labels)
    {
        var text = exposition.Text;
        text.Append(name);
        if (labels.Length > 0 || exposition.InstanceId is not null)
        {
            text.Append('{');
            for (var i = 0; i < labels.Length; i++)
            {
                if (i > 0)
                {
                    text.Append(',');
                }

                text.Append(labels[i].Name).Append("=\"").Append(EscapeLabel(labels[i].Value)).Append('"');
            }

            if (exposition.InstanceId is { } instance)
            {
                text.Append(labels.Length > 0 ? "," : "").Append("instance_id=\"").Append(EscapeLabel(instance)).Append('"');
            }

            text.Append('}');
        }

        return text.Append(' ');
    }

    /// <summary>The text being written, and the instance id every sample carries (null without <c>[cluster]</c>).</summary>
    private sealed record Exposition(StringBuilder Text, string? InstanceId);

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Label values escape backslash, double quote and line feed.</summary>
    public static string EscapeLabel(string value)
        => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    /// <summary>HELP text escapes backslash and line feed.</summary>
    private static string EscapeHelp(string value)
        => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}
