using System.Buffers;
using System.Diagnostics;
using System.Text.Encodings.Web;
using System.Text.Json;
using LoadBalancer.Core.Admin;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Core.Dashboard;

/// <summary>
/// The live dashboard on the admin listener: <c>GET /</c> (the page, with <c>/dashboard.js</c> and <c>/dashboard.css</c>,
/// embedded in the assembly and served without a token: the page asks for one), and its JSON, read from the
/// <see cref="DashboardSampler"/> (never from the request path):
/// <c>GET /api/dashboard?q=&amp;sort=name|load&amp;offset=&amp;limit=</c> (one page of tenants, config, process),
/// <c>GET /api/dashboard/tenants/{name}</c> (its history, routes, consumers and pools) and
/// <c>GET /api/dashboard/pools?q=&amp;offset=&amp;limit=</c> (backends with their state).
/// </summary>
public static class DashboardEndpoints
{
    private const string ApiPrefix = "/api/dashboard";
    private const int MaxLimit = 200;

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The page and its assets: served without an admin token (they hold no data; the page asks for the token).</summary>
    public static bool IsPublic(string method, string path) => method == "GET" && DashboardAssets.Find(path) is not null;

    /// <summary>Answers the request when it is the dashboard's; null otherwise. <paramref name="role"/> (read or write) tells the page whether to show its buttons.</summary>
    public static AdminResponse? TryHandle(AdminRequest request, DashboardSampler sampler, ConfigStatus config, string role)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentNullException.ThrowIfNull(config);
        if (request.Method != "GET")
        {
            return null;
        }

        if (DashboardAssets.Find(request.Path) is { } asset)
        {
            return new AdminResponse(200, asset.ContentType, asset.Bytes);
        }

        if (!request.Path.StartsWith(ApiPrefix, StringComparison.Ordinal))
        {
            return null;
        }

        var query = Query.Parse(request.Query);
        var rest = request.Path[ApiPrefix.Length..];
        if (rest is "" or "/")
        {
            return Json(writer => WriteSummary(writer, sampler, config, role, query));
        }

        if (rest == "/pools")
        {
            return Json(writer => WritePools(writer, sampler, query));
        }

        const string tenants = "/tenants/";
        if (rest.StartsWith(tenants, StringComparison.Ordinal))
        {
            var name = Uri.UnescapeDataString(rest[tenants.Length..]);
            if (!sampler.Snapshots.Current.Tenants.TryGetValue(name, out var tenant))
            {
                return AdminResponse.Json(404, "{\"error\":\"no such tenant\"}\n");
            }

            return Json(writer => WriteTenant(writer, sampler, tenant));
        }

        return null;
    }

    private static void WriteSummary(Utf8JsonWriter writer, DashboardSampler sampler, ConfigStatus config, string role, Query query)
    {
        var snapshot = sampler.Snapshots.Current;
        var filter = query.Get("q");
        var byLoad = query.Get("sort") != "name";
        var offset = Math.Max(0, query.Int("offset", 0));
        var limit = Math.Clamp(query.Int("limit", 50), 1, MaxLimit);

        writer.WriteStartObject();
        writer.WriteNumber("generated", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        writer.WriteString("role", role);
        writer.WriteNumber("slot_seconds", DashboardSampler.SlotTicks);
        WriteConfig(writer, config);
        lock (sampler.Gate)
        {
            WriteProcess(writer, sampler);

            // Totals over every tenant, and the page of those that match (sorted by load or by name).
            var rows = new List<(TenantSnapshot Tenant, TenantSeries? Series)>();
            double rps = 0, bytes = 0, refused = 0, errors = 0;
            var connections = 0;
            foreach (var tenant in snapshot.Tenants.Values)
            {
                var series = sampler.Series(tenant.State);
                if (series is not null)
                {
                    rps += series.Meter.RequestsPerSecond;
                    errors += series.Meter.RequestsPerSecond * series.Meter.ErrorRate;
                    bytes += series.Meter.BytesPerSecond;
                    refused += series.RefusalsPerSecond;
                    connections += series.Connections;
                }

                if (filter is null || tenant.Name.Contains(filter, StringComparison.OrdinalIgnoreCase))
                {
                    rows.Add((tenant, series));
                }
            }

            rows.Sort(byLoad ? CompareByLoad : CompareByName);
            var backends = 0;
            var unavailable = 0;
            foreach (var pool in snapshot.Pools.Values)
            {
                foreach (var backend in pool.Backends)
                {
                    backends++;
                    unavailable += backend.IsAvailable ? 0 : 1;
                }
            }

            writer.WriteStartObject("totals");
            writer.WriteNumber("tenants", snapshot.Tenants.Count);
            writer.WriteNumber("pools", snapshot.Pools.Count);
            writer.WriteNumber("backends", backends);
            writer.WriteNumber("backends_unavailable", unavailable);
            Number(writer, "rps", rps);
            Number(writer, "err", rps > 0 ? errors / rps : 0);
            Number(writer, "bytes", bytes);
            Number(writer, "refused", refused);
            writer.WriteNumber("conns", connections);
            writer.WriteEndObject();

            writer.WriteNumber("matched", rows.Count);
            writer.WriteNumber("offset", offset);
            writer.WriteNumber("limit", limit);
            writer.WriteStartArray("tenants");
            for (var i = offset; i < rows.Count && i < offset + limit; i++)
            {
                var (tenant, series) = rows[i];
                writer.WriteStartObject();
                writer.WriteString("name", tenant.Name);
                writer.WriteString("pool", tenant.Pool?.Name);
                writer.WriteNumber("routes", tenant.Routes.Count);
                WriteCurrent(writer, series);
                writer.WriteStartArray("spark");
                if (series is not null)
                {
                    WriteHistory(writer, series, TenantSeries.RequestsField, sampler.LastTick);
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        writer.WriteEndObject();
    }

    private static int CompareByLoad((TenantSnapshot Tenant, TenantSeries? Series) a, (TenantSnapshot Tenant, TenantSeries? Series) b)
    {
        var load = LoadOf(b.Series).CompareTo(LoadOf(a.Series));
        return load != 0 ? load : CompareByName(a, b);
    }

    private static double LoadOf(TenantSeries? series)
        => series is null ? 0 : series.Meter.RequestsPerSecond + series.RefusalsPerSecond + (series.Connections * 1e-6);

    private static int CompareByName((TenantSnapshot Tenant, TenantSeries? Series) a, (TenantSnapshot Tenant, TenantSeries? Series) b)
        => string.CompareOrdinal(a.Tenant.Name, b.Tenant.Name);

    private static void WriteCurrent(Utf8JsonWriter writer, TenantSeries? series)
    {
        WriteMeter(writer, series?.Meter);
        writer.WriteNumber("conns", series?.Connections ?? 0);
        writer.WriteNumber("in_flight", series?.InFlight ?? 0);
        Number(writer, "refused", series?.RefusalsPerSecond ?? 0);
    }

    private static void WriteMeter(Utf8JsonWriter writer, RateMeter? meter)
    {
        Number(writer, "rps", meter?.RequestsPerSecond ?? 0);
        Number(writer, "err", meter?.ErrorRate ?? 0);
        NullableNumber(writer, "p50", meter?.P50);
        NullableNumber(writer, "p99", meter?.P99);
        Number(writer, "bytes", meter?.BytesPerSecond ?? 0);
        writer.WriteNumber("total", meter?.Requests ?? 0);
    }

    /// <summary>One series of the tenant's history, oldest first, then the slot in progress (once it is a tick old).</summary>
    private static void WriteHistory(Utf8JsonWriter writer, TenantSeries series, int field, long now)
    {
        if (series.History is { } history)
        {
            for (var i = 0; i < history.Count; i++)
            {
                Value(writer, history.Get(field, i));
            }
        }

        var seconds = series.SlotSeconds(now, Stopwatch.Frequency);
        if (seconds >= 0.5)
        {
            Span<float> row = stackalloc float[TenantSeries.Fields];
            series.FillSlot(row, seconds);
            Value(writer, row[field]);
        }
    }

    private static void WriteTenant(Utf8JsonWriter writer, DashboardSampler sampler, TenantSnapshot tenant)
    {
        writer.WriteStartObject();
        writer.WriteString("name", tenant.Name);
        writer.WriteString("pool", tenant.Pool?.Name);
        writer.WriteNumber("slot_seconds", DashboardSampler.SlotTicks);
        writer.WriteStartObject("limits");
        NullableNumber(writer, "rate_limit", tenant.RequestsPerSecond);
        NullableNumber(writer, "burst", tenant.Burst);
        NullableNumber(writer, "max_connections", tenant.MaxConnections > 0 ? tenant.MaxConnections : null);
        NullableNumber(writer, "max_in_flight", tenant.MaxInFlight > 0 ? tenant.MaxInFlight : null);
        writer.WriteEndObject();
        var pools = new List<PoolSnapshot>();
        if (tenant.Pool is { } fallback)
        {
            pools.Add(fallback);
        }

        lock (sampler.Gate)
        {
            var series = sampler.Series(tenant.State);
            WriteCurrent(writer, series);
            writer.WriteStartObject("refused_by_reason");
            for (var slot = 0; slot < TenantSeries.RefusalSlots; slot++)
            {
                Number(writer, Usage.UsageCell.RefusalName(slot), series?.RefusedPerSecond[slot] ?? 0);
            }

            writer.WriteEndObject();
            writer.WriteStartObject("series");
            string[] names = ["rps", "err", "p50", "p99", "conns", "refused", "bytes"];
            for (var field = 0; field < TenantSeries.Fields; field++)
            {
                writer.WriteStartArray(names[field]);
                if (series is not null)
                {
                    WriteHistory(writer, series, field, sampler.LastTick);
                }

                writer.WriteEndArray();
            }

            writer.WriteEndObject();

            // Routes in file order (then any a reload removed that still counted), consumers by name.
            writer.WriteStartArray("routes");
            var written = new HashSet<string>(StringComparer.Ordinal);
            foreach (var route in tenant.Routes.Routes)
            {
                if (!pools.Contains(route.Pool))
                {
                    pools.Add(route.Pool);
                }

                if (route.Name is { } name && written.Add(name))
                {
                    WriteNamed(writer, name, route.Pool.Name, series?.Routes.GetValueOrDefault(name));
                }
            }

            WriteOthers(writer, written, series?.Routes);

            writer.WriteEndArray();
            writer.WriteStartArray("consumers");
            written.Clear();
            foreach (var consumer in tenant.Consumers)
            {
                if (written.Add(consumer.Name))
                {
                    WriteNamed(writer, consumer.Name, null, series?.Consumers.GetValueOrDefault(consumer.Name));
                }
            }

            WriteOthers(writer, written, series?.Consumers);

            writer.WriteEndArray();
            writer.WriteStartArray("pools");
            foreach (var pool in pools)
            {
                WritePool(writer, sampler, pool);
            }

            writer.WriteEndArray();
        }

        writer.WriteEndObject();
    }

    /// <summary>Meters of names the config no longer has (a reload removed them), by name.</summary>
    private static void WriteOthers(Utf8JsonWriter writer, HashSet<string> written, Dictionary<string, RateMeter>? meters)
    {
        foreach (var (name, meter) in (meters ?? []).OrderBy(m => m.Key, StringComparer.Ordinal))
        {
            if (written.Add(name))
            {
                WriteNamed(writer, name, null, meter);
            }
        }
    }

    private static void WriteNamed(Utf8JsonWriter writer, string name, string? pool, RateMeter? meter)
    {
        writer.WriteStartObject();
        writer.WriteString("name", name);
        if (pool is not null)
        {
            writer.WriteString("pool", pool);
        }

        WriteMeter(writer, meter);
        writer.WriteEndObject();
    }

    private static void WritePools(Utf8JsonWriter writer, DashboardSampler sampler, Query query)
    {
        var filter = query.Get("q");
        var offset = Math.Max(0, query.Int("offset", 0));
        var limit = Math.Clamp(query.Int("limit", 50), 1, MaxLimit);
        var pools = new List<PoolSnapshot>();
        foreach (var pool in sampler.Snapshots.Current.Pools.Values)
        {
            if (filter is null || pool.Name.Contains(filter, StringComparison.OrdinalIgnoreCase))
            {
                pools.Add(pool);
            }
        }

        pools.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        writer.WriteStartObject();
        writer.WriteNumber("matched", pools.Count);
        writer.WriteNumber("offset", offset);
        writer.WriteNumber("limit", limit);
        writer.WriteStartArray("pools");
        lock (sampler.Gate)
        {
            for (var i = offset; i < pools.Count && i < offset + limit; i++)
            {
                WritePool(writer, sampler, pools[i]);
            }
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static void WritePool(Utf8JsonWriter writer, DashboardSampler sampler, PoolSnapshot pool)
    {
        writer.WriteStartObject();
        writer.WriteString("name", pool.Name);
        writer.WriteString("balancer", pool.BalancerName);
        writer.WriteStartArray("backends");
        foreach (var backend in pool.Backends)
        {
            writer.WriteStartObject();
            writer.WriteString("address", backend.Config.Address);
            writer.WriteString("state", backend.HealthStatus);
            writer.WriteNumber("in_flight", backend.InFlight);
            writer.WriteNumber("weight", backend.Weight);
            Number(writer, "effective_weight", backend.EffectiveWeight);
            Number(writer, "rps", sampler.BackendRequestsPerSecond(backend));
            writer.WriteNumber("requests", backend.Requests);
            writer.WriteNumber("connect_failures", backend.ConnectFailures);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static void WriteConfig(Utf8JsonWriter writer, ConfigStatus config)
    {
        var (version, generation, appliedAt, last, rejected) = config.Read();
        writer.WriteStartObject("config");
        writer.WriteString("version", version);
        writer.WriteNumber("generation", generation);
        writer.WriteString("applied_at", appliedAt);
        WriteReload(writer, "last_reload", last);
        WriteReload(writer, "rejected", rejected);
        writer.WriteEndObject();
    }

    private static void WriteReload(Utf8JsonWriter writer, string name, ConfigStatus.Reload? reload)
    {
        if (reload is null)
        {
            writer.WriteNull(name);
            return;
        }

        writer.WriteStartObject(name);
        writer.WriteString("at", reload.At);
        writer.WriteString("result", reload.Result);
        writer.WriteString("summary", reload.Summary);
        writer.WriteStartArray("errors");
        foreach (var error in reload.Errors)
        {
            writer.WriteStringValue(error);
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static void WriteProcess(Utf8JsonWriter writer, DashboardSampler sampler)
    {
        var process = sampler.Process;
        writer.WriteStartObject("process");
        Number(writer, "cpu", process.CpuPercent);
        writer.WriteNumber("cores", Environment.ProcessorCount);
        writer.WriteNumber("working_set", process.WorkingSetBytes);
        writer.WriteNumber("heap", process.HeapBytes);
        Number(writer, "alloc", process.AllocatedBytesPerSecond);
        Number(writer, "gc_pause", process.GcPausePercent);
        writer.WriteStartArray("gc");
        writer.WriteNumberValue(process.Gen0);
        writer.WriteNumberValue(process.Gen1);
        writer.WriteNumberValue(process.Gen2);
        writer.WriteEndArray();
        writer.WriteNumber("thread_pool", process.ThreadPoolThreads);
        writer.WriteNumber("sampler_errors", sampler.FailedTicks);
        if (sampler.LastTickError is { } error)
        {
            writer.WriteString("sampler_error", error);
        }
        writer.WriteNumber("uptime", Math.Round((DateTimeOffset.UtcNow - process.StartedAt).TotalSeconds));
        var history = sampler.ProcessHistory;
        string[] names = ["cpu", "working_set", "alloc"];
        writer.WriteStartObject("series");
        for (var field = 0; field < ProcessMeter.Fields; field++)
        {
            writer.WriteStartArray(names[field]);
            for (var i = 0; i < history.Count; i++)
            {
                Value(writer, history.Get(field, i));
            }

            writer.WriteEndArray();
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static void Number(Utf8JsonWriter writer, string name, double value) => writer.WriteNumber(name, Round(value));

    private static void NullableNumber(Utf8JsonWriter writer, string name, double? value)
    {
        if (value is { } v)
        {
            writer.WriteNumber(name, Round(v));
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    private static void Value(Utf8JsonWriter writer, float value) => writer.WriteNumberValue(Round(value));

    /// <summary>Three decimals below 100, none above: enough for a chart, and short on the wire.</summary>
    private static double Round(double value)
        => double.IsFinite(value) ? Math.Round(value, Math.Abs(value) < 100 ? 3 : 0) : 0;

    private static AdminResponse Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            write(writer);
        }

        return new AdminResponse(200, "application/json", buffer.WrittenSpan.ToArray());
    }

    /// <summary>A query string's parameters (form-encoded: <c>+</c> is a space).</summary>
    private sealed class Query
    {
        private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

        public static Query Parse(string query)
        {
            var parsed = new Query();
            foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                var equals = pair.IndexOf('=', StringComparison.Ordinal);
                var name = Decode(equals < 0 ? pair : pair[..equals]);
                parsed._values[name] = equals < 0 ? "" : Decode(pair[(equals + 1)..]);
            }

            return parsed;
        }

        public string? Get(string name) => _values.TryGetValue(name, out var value) && value.Length > 0 ? value : null;

        public int Int(string name, int fallback)
            => Get(name) is { } text && int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value) ? value : fallback;

        private static string Decode(string text) => Uri.UnescapeDataString(text.Replace('+', ' '));
    }
}
