using System.Globalization;
using System.Text;
using System.Text.Json;
using LoadBalancer.Core.Tenancy;
using Microsoft.Data.Sqlite;

namespace LoadBalancer.Core.Usage;

/// <summary>
/// <c>GET /api/usage?from=&amp;to=&amp;group_by=tenant,consumer,route&amp;granularity=minute|hour|day&amp;format=csv</c>
/// over the ledger: rows per period and group, with requests by status class, bytes, duration and refusals. The
/// ledger is flushed first (the current minute included), so the answer is exact up to the moment of the query.
/// </summary>
public sealed class UsageQuery
{
    private static readonly string[] Groups = ["tenant", "consumer", "route"];

    private UsageQuery(long fromMinute, long toMinute, string[] groupBy, string granularity, bool csv)
    {
        FromMinute = fromMinute;
        ToMinute = toMinute;
        GroupBy = groupBy;
        Granularity = granularity;
        Csv = csv;
    }

    public long FromMinute { get; }

    public long ToMinute { get; }

    public string[] GroupBy { get; }

    public string Granularity { get; }

    public bool Csv { get; }

    /// <summary>True when the query string asks the ledger (any of from, to, group_by, granularity, format).</summary>
    public static bool AsksLedger(string query)
        => Parse(query).Keys.Any(k => k is "from" or "to" or "group_by" or "granularity" or "format");

    /// <summary>The query, or null with <paramref name="error"/> set. from/to: ISO 8601 (UTC) or Unix seconds; to is exclusive.</summary>
    public static UsageQuery? TryParse(string query, DateTimeOffset now, out string error)
    {
        var values = Parse(query);
        error = "";
        long from = 0, to = (now.ToUnixTimeSeconds() / 60) + 1;
        if (values.TryGetValue("from", out var fromText) && !TryTime(fromText, out from, roundUp: false))
        {
            error = $"from: \"{fromText}\" is not a time (ISO 8601, e.g. 2026-12-01T00:00:00Z, or Unix seconds)";
            return null;
        }

        if (values.TryGetValue("to", out var toText) && !TryTime(toText, out to, roundUp: true))
        {
            error = $"to: \"{toText}\" is not a time (ISO 8601, e.g. 2026-12-31T00:00:00Z, or Unix seconds)";
            return null;
        }

        var groupBy = values.TryGetValue("group_by", out var groups) ? groups.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : ["tenant"];
        if (groupBy.FirstOrDefault(g => !Groups.Contains(g)) is { } unknown)
        {
            error = $"group_by: \"{unknown}\" is not one of tenant, consumer, route";
            return null;
        }

        var granularity = values.GetValueOrDefault("granularity", "day");
        if (granularity is not ("minute" or "hour" or "day"))
        {
            error = $"granularity: must be minute, hour or day, not \"{granularity}\"";
            return null;
        }

        var format = values.GetValueOrDefault("format", "json");
        if (format is not ("json" or "csv"))
        {
            error = $"format: must be json or csv, not \"{format}\"";
            return null;
        }

        return new UsageQuery(from, to, [.. Groups.Where(groupBy.Contains)], granularity, format == "csv");
    }

    /// <summary>Runs the query; with no connection (the ledger cannot be opened) the answer has no rows.</summary>
    public List<UsageRowDocument> Run(SqliteConnection? connection)
    {
        var rows = new SortedDictionary<string, UsageRowDocument>(StringComparer.Ordinal);
        if (connection is null)
        {
            return [];
        }

        var bucket = Granularity switch { "minute" => 1, "hour" => 60, _ => 1440 };
        var columns = string.Concat(GroupBy.Select(g => ", " + g));
        using (var command = connection.CreateCommand())
        {
            command.CommandText = $"SELECT (minute / {bucket}) * {bucket} AS b{columns}, status_class, SUM(requests), SUM(bytes_in), SUM(bytes_out), SUM(duration_us) FROM usage WHERE minute >= $f AND minute < $t GROUP BY b{columns}, status_class";
            command.Parameters.AddWithValue("$f", FromMinute);
            command.Parameters.AddWithValue("$t", ToMinute);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var row = RowOf(rows, reader);
                var statusClass = reader.GetString(1 + GroupBy.Length);
                var requests = reader.GetInt64(2 + GroupBy.Length);
                row.Requests += requests;
                row.ByStatusClass[statusClass] = row.ByStatusClass.GetValueOrDefault(statusClass) + requests;
                row.BytesIn += reader.GetInt64(3 + GroupBy.Length);
                row.BytesOut += reader.GetInt64(4 + GroupBy.Length);
                row.DurationSecondsSum = Math.Round(row.DurationSecondsSum + (reader.GetInt64(5 + GroupBy.Length) / 1e6), 6);
            }
        }

        using (var command = connection.CreateCommand())
        {
            command.CommandText = $"SELECT (minute / {bucket}) * {bucket} AS b{columns}, reason, SUM(requests) FROM refusals WHERE minute >= $f AND minute < $t GROUP BY b{columns}, reason";
            command.Parameters.AddWithValue("$f", FromMinute);
            command.Parameters.AddWithValue("$t", ToMinute);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var row = RowOf(rows, reader);
                row.Refused[reader.GetString(1 + GroupBy.Length)] = reader.GetInt64(2 + GroupBy.Length);
            }
        }

        // Tcp listeners' connections have no consumer or route: they group with the empty ones.
        var connectionColumns = string.Concat(GroupBy.Select(g => g == "tenant" ? ", tenant" : ", ''"));
        var connectionGroups = GroupBy.Contains("tenant") ? ", tenant" : "";
        using (var command = connection.CreateCommand())
        {
            command.CommandText = $"SELECT (minute / {bucket}) * {bucket} AS b{connectionColumns}, protocol, SUM(connections), SUM(refused), SUM(bytes_in), SUM(bytes_out), SUM(duration_us) FROM connections WHERE minute >= $f AND minute < $t GROUP BY b{connectionGroups}, protocol";
            command.Parameters.AddWithValue("$f", FromMinute);
            command.Parameters.AddWithValue("$t", ToMinute);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var row = RowOf(rows, reader);
                var at = 1 + GroupBy.Length;
                row.Connections[reader.GetString(at)] = new ConnectionRowDocument
                {
                    Total = reader.GetInt64(at + 1),
                    Refused = reader.GetInt64(at + 2),
                    BytesIn = reader.GetInt64(at + 3),
                    BytesOut = reader.GetInt64(at + 4),
                    DurationSecondsSum = Math.Round(reader.GetInt64(at + 5) / 1e6, 6),
                };
            }
        }

        return [.. rows.Values];
    }

    private UsageRowDocument RowOf(SortedDictionary<string, UsageRowDocument> rows, SqliteDataReader reader)
    {
        var minute = reader.GetInt64(0);
        var groups = new string[GroupBy.Length];
        for (var i = 0; i < groups.Length; i++)
        {
            groups[i] = reader.GetString(1 + i);
        }

        var key = minute.ToString("D12", CultureInfo.InvariantCulture) + "\u0001" + string.Join('\u0001', groups);
        if (!rows.TryGetValue(key, out var row))
        {
            rows[key] = row = new UsageRowDocument
            {
                Period = DateTimeOffset.FromUnixTimeSeconds(minute * 60),
                Tenant = Pick("tenant", groups),
                Consumer = Pick("consumer", groups),
                Route = Pick("route", groups),
            };
        }

        return row;
    }

    private string? Pick(string group, string[] values) => Array.IndexOf(GroupBy, group) is var i and >= 0 ? values[i] : null;

    public string ToJson(List<UsageRowDocument> rows)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("from", DateTimeOffset.FromUnixTimeSeconds(FromMinute * 60));
            json.WriteString("to", DateTimeOffset.FromUnixTimeSeconds(ToMinute * 60));
            json.WriteString("granularity", Granularity);
            json.WriteStartArray("group_by");
            foreach (var group in GroupBy)
            {
                json.WriteStringValue(group);
            }

            json.WriteEndArray();
            json.WriteStartArray("rows");
            foreach (var row in rows)
            {
                json.WriteStartObject();
                json.WriteString("period", row.Period);
                foreach (var (name, value) in (ReadOnlySpan<(string, string?)>)[("tenant", row.Tenant), ("consumer", row.Consumer), ("route", row.Route)])
                {
                    if (value is not null)
                    {
                        json.WriteString(name, value);
                    }
                }

                json.WriteNumber("requests", row.Requests);
                json.WriteStartObject("requests_by_class");
                for (var c = 0; c < StatusClasses.Count; c++)
                {
                    json.WriteNumber(StatusClasses.Name(c), row.ByStatusClass.GetValueOrDefault(StatusClasses.Name(c)));
                }

                json.WriteEndObject();
                json.WriteNumber("bytes_in", row.BytesIn);
                json.WriteNumber("bytes_out", row.BytesOut);
                json.WriteNumber("duration_seconds_sum", row.DurationSecondsSum);
                json.WriteStartObject("refused");
                foreach (var (reason, count) in row.Refused.OrderBy(r => r.Key, StringComparer.Ordinal))
                {
                    json.WriteNumber(reason, count);
                }

                json.WriteEndObject();
                if (row.Connections.Count > 0)
                {
                    json.WriteStartArray("connections");
                    foreach (var (protocol, connections) in row.Connections.OrderBy(c => c.Key, StringComparer.Ordinal))
                    {
                        json.WriteStartObject();
                        json.WriteString("protocol", protocol);
                        json.WriteNumber("total", connections.Total);
                        json.WriteNumber("refused", connections.Refused);
                        json.WriteNumber("bytes_in", connections.BytesIn);
                        json.WriteNumber("bytes_out", connections.BytesOut);
                        json.WriteNumber("duration_seconds_sum", connections.DurationSecondsSum);
                        json.WriteEndObject();
                    }

                    json.WriteEndArray();
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    /// <summary>One line a row: period, the group columns asked for, requests, one column per status class, bytes, duration, refusals, then the tcp connections' columns.</summary>
    public string ToCsv(List<UsageRowDocument> rows)
    {
        var text = new StringBuilder();
        text.Append("period");
        foreach (var group in GroupBy)
        {
            text.Append(',').Append(group);
        }

        text.Append(",requests");
        for (var c = 0; c < StatusClasses.Count; c++)
        {
            text.Append(",requests_").Append(StatusClasses.Name(c));
        }

        text.Append(",bytes_in,bytes_out,duration_seconds_sum,refused,tcp_connections,tcp_refused,tcp_bytes_in,tcp_bytes_out,tcp_duration_seconds_sum\n");
        foreach (var row in rows)
        {
            text.Append(row.Period.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
            foreach (var group in GroupBy)
            {
                text.Append(',').Append(Field(group switch { "tenant" => row.Tenant, "consumer" => row.Consumer, _ => row.Route }));
            }

            text.Append(',').Append(row.Requests.ToString(CultureInfo.InvariantCulture));
            for (var c = 0; c < StatusClasses.Count; c++)
            {
                text.Append(',').Append(row.ByStatusClass.GetValueOrDefault(StatusClasses.Name(c)).ToString(CultureInfo.InvariantCulture));
            }

            text.Append(',').Append(row.BytesIn.ToString(CultureInfo.InvariantCulture))
                .Append(',').Append(row.BytesOut.ToString(CultureInfo.InvariantCulture))
                .Append(',').Append(row.DurationSecondsSum.ToString(CultureInfo.InvariantCulture))
                .Append(',').Append(row.Refused.Values.Sum().ToString(CultureInfo.InvariantCulture));
            var tcp = row.Connections.GetValueOrDefault("tcp") ?? new ConnectionRowDocument();
            text.Append(',').Append(tcp.Total.ToString(CultureInfo.InvariantCulture))
                .Append(',').Append(tcp.Refused.ToString(CultureInfo.InvariantCulture))
                .Append(',').Append(tcp.BytesIn.ToString(CultureInfo.InvariantCulture))
                .Append(',').Append(tcp.BytesOut.ToString(CultureInfo.InvariantCulture))
                .Append(',').Append(tcp.DurationSecondsSum.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>RFC 4180: quoted when it holds a comma, quote or line break (names are tokens, so rarely).</summary>
    private static string Field(string? value)
        => value is null ? "" : value.AsSpan().IndexOfAny(",\"\r\n") < 0 ? value : "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static bool TryTime(string text, out long minute, bool roundUp)
    {
        minute = 0;
        long seconds;
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var unix))
        {
            seconds = unix;
        }
        else if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time))
        {
            seconds = time.ToUnixTimeSeconds();
        }
        else
        {
            return false;
        }

        minute = roundUp ? (seconds + 59) / 60 : seconds / 60;
        return true;
    }

    private static Dictionary<string, string> Parse(string query)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var name = Uri.UnescapeDataString(equals < 0 ? pair : pair[..equals]);
            values[name] = Uri.UnescapeDataString(equals < 0 ? "" : pair[(equals + 1)..].Replace('+', ' '));
        }

        return values;
    }
}

/// <summary>One row of a ledger query.</summary>
public sealed class UsageRowDocument
{
    public DateTimeOffset Period { get; init; }

    public string? Tenant { get; init; }

    public string? Consumer { get; init; }

    public string? Route { get; init; }

    public long Requests { get; set; }

    public Dictionary<string, long> ByStatusClass { get; } = new(StringComparer.Ordinal);

    public long BytesIn { get; set; }

    public long BytesOut { get; set; }

    public double DurationSecondsSum { get; set; }

    public Dictionary<string, long> Refused { get; } = new(StringComparer.Ordinal);

    /// <summary>Tcp listeners' connections by protocol ("tcp"); empty for a row that had none.</summary>
    public Dictionary<string, ConnectionRowDocument> Connections { get; } = new(StringComparer.Ordinal);
}

/// <summary>A ledger row's connections of one protocol: admitted and tunnelled, refused at max_connections, bytes, duration.</summary>
public sealed class ConnectionRowDocument
{
    public long Total { get; init; }

    public long Refused { get; init; }

    public long BytesIn { get; init; }

    public long BytesOut { get; init; }

    public double DurationSecondsSum { get; init; }
}
