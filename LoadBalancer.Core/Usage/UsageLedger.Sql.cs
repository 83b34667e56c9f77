using Microsoft.Data.Sqlite;
using LoadBalancer.Core.Consumers;
using LoadBalancer.Core.Routing;

namespace LoadBalancer.Core.Usage;

/// <summary>The ledger's schema, its writes, retention and the quota restore at start.</summary>
public sealed partial class UsageLedger
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS usage (
            minute INTEGER NOT NULL, tenant TEXT NOT NULL, consumer TEXT NOT NULL, route TEXT NOT NULL, status_class TEXT NOT NULL,
            requests INTEGER NOT NULL, bytes_in INTEGER NOT NULL, bytes_out INTEGER NOT NULL, duration_us INTEGER NOT NULL,
            PRIMARY KEY (minute, tenant, consumer, route, status_class)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS refusals (
            minute INTEGER NOT NULL, tenant TEXT NOT NULL, consumer TEXT NOT NULL, route TEXT NOT NULL, reason TEXT NOT NULL,
            requests INTEGER NOT NULL,
            PRIMARY KEY (minute, tenant, consumer, route, reason)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS quota (
            minute INTEGER NOT NULL, tenant TEXT NOT NULL, consumer TEXT NOT NULL, requests INTEGER NOT NULL,
            PRIMARY KEY (tenant, consumer, minute)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS connections (
            minute INTEGER NOT NULL, tenant TEXT NOT NULL, protocol TEXT NOT NULL,
            connections INTEGER NOT NULL, refused INTEGER NOT NULL, bytes_in INTEGER NOT NULL, bytes_out INTEGER NOT NULL, duration_us INTEGER NOT NULL,
            PRIMARY KEY (minute, tenant, protocol)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS keys (
            tenant TEXT NOT NULL, key TEXT NOT NULL, requests INTEGER NOT NULL, last_used INTEGER NOT NULL,
            PRIMARY KEY (tenant, key)) WITHOUT ROWID;
        """;

    private SqliteConnection? TryOpen()
    {
        SqliteConnection? connection = null;
        try
        {
            connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = _settings.Path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString());
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=1000;" + Schema;
            command.ExecuteNonQuery();
            return connection;
        }
        catch (Exception ex) when (ex is SqliteException or IOException or UnauthorizedAccessException)
        {
            connection?.Dispose();
            var now = _clock.GetTimestamp();
            if (_lastError == long.MinValue || now - _lastError >= 30 * _clock.TimestampFrequency)
            {
                _lastError = now;
                LogOpenFailed(_logger, _settings.Path, ex.Message);
            }

            return null;
        }
    }

    private void Write(SqliteConnection connection)
    {
        using var transaction = connection.BeginTransaction();
        using (var usage = connection.CreateCommand())
        {
            usage.Transaction = transaction;
            usage.CommandText = """
                INSERT INTO usage (minute, tenant, consumer, route, status_class, requests, bytes_in, bytes_out, duration_us)
                VALUES ($m, $t, $c, $r, $s, $n, $i, $o, $d)
                ON CONFLICT (minute, tenant, consumer, route, status_class) DO UPDATE SET
                    requests = requests + excluded.requests, bytes_in = bytes_in + excluded.bytes_in,
                    bytes_out = bytes_out + excluded.bytes_out, duration_us = duration_us + excluded.duration_us
                """;
            var p = Parameters(usage, "$m", "$t", "$c", "$r", "$s", "$n", "$i", "$o", "$d");
            foreach (var (key, delta) in _pending)
            {
                Bind(p, key);
                p[5].Value = delta.Requests;
                p[6].Value = delta.BytesIn;
                p[7].Value = delta.BytesOut;
                p[8].Value = delta.DurationMicros;
                usage.ExecuteNonQuery();
            }
        }

        using (var refusals = connection.CreateCommand())
        {
            refusals.Transaction = transaction;
            refusals.CommandText = """
                INSERT INTO refusals (minute, tenant, consumer, route, reason, requests) VALUES ($m, $t, $c, $r, $s, $n)
                ON CONFLICT (minute, tenant, consumer, route, reason) DO UPDATE SET requests = requests + excluded.requests
                """;
            var p = Parameters(refusals, "$m", "$t", "$c", "$r", "$s", "$n");
            foreach (var (key, delta) in _pendingRefusals)
            {
                Bind(p, key);
                p[5].Value = delta.Requests;
                refusals.ExecuteNonQuery();
            }
        }

        using (var quota = connection.CreateCommand())
        {
            quota.Transaction = transaction;
            quota.CommandText = """
                INSERT INTO quota (minute, tenant, consumer, requests) VALUES ($m, $t, $c, $n)
                ON CONFLICT (tenant, consumer, minute) DO UPDATE SET requests = requests + excluded.requests
                """;
            var p = Parameters(quota, "$m", "$t", "$c", "$n");
            foreach (var (key, delta) in _pendingQuota)
            {
                p[0].Value = key.Minute;
                p[1].Value = key.Tenant;
                p[2].Value = key.Consumer;
                p[3].Value = delta.Requests;
                quota.ExecuteNonQuery();
            }
        }

        using (var connections = connection.CreateCommand())
        {
            connections.Transaction = transaction;
            connections.CommandText = """
                INSERT INTO connections (minute, tenant, protocol, connections, refused, bytes_in, bytes_out, duration_us)
                VALUES ($m, $t, 'tcp', $n, $r, $i, $o, $d)
                ON CONFLICT (minute, tenant, protocol) DO UPDATE SET
                    connections = connections + excluded.connections, refused = refused + excluded.refused,
                    bytes_in = bytes_in + excluded.bytes_in, bytes_out = bytes_out + excluded.bytes_out,
                    duration_us = duration_us + excluded.duration_us
                """;
            var p = Parameters(connections, "$m", "$t", "$n", "$r", "$i", "$o", "$d");
            foreach (var ((minute, tenant), delta) in _pendingConnections)
            {
                p[0].Value = minute;
                p[1].Value = tenant;
                p[2].Value = delta.Connections;
                p[3].Value = delta.Refused;
                p[4].Value = delta.BytesIn;
                p[5].Value = delta.BytesOut;
                p[6].Value = delta.DurationMicros;
                connections.ExecuteNonQuery();
            }
        }

        using (var keys = connection.CreateCommand())
        {
            keys.Transaction = transaction;
            keys.CommandText = """
                INSERT INTO keys (tenant, key, requests, last_used) VALUES ($t, $k, $n, $l)
                ON CONFLICT (tenant, key) DO UPDATE SET
                    requests = requests + excluded.requests, last_used = max(last_used, excluded.last_used)
                """;
            var p = Parameters(keys, "$t", "$k", "$n", "$l");
            foreach (var ((tenant, key), delta) in _pendingKeys)
            {
                p[0].Value = tenant;
                p[1].Value = key;
                p[2].Value = delta.Requests;
                p[3].Value = delta.LastUsed;
                keys.ExecuteNonQuery();
            }
        }

        transaction.Commit();
    }

    private static SqliteParameter[] Parameters(SqliteCommand command, params string[] names)
    {
        var parameters = new SqliteParameter[names.Length];
        for (var i = 0; i < names.Length; i++)
        {
            parameters[i] = command.CreateParameter();
            parameters[i].ParameterName = names[i];
            command.Parameters.Add(parameters[i]);
        }

        return parameters;
    }

    private static void Bind(SqliteParameter[] p, UsageKey key)
    {
        p[0].Value = key.Minute;
        p[1].Value = key.Tenant;
        p[2].Value = key.Consumer;
        p[3].Value = key.Route;
        p[4].Value = key.StatusClass;
    }

    /// <summary>Deletes rows older than the retention, at most once an hour.</summary>
    private void Purge(SqliteConnection connection)
    {
        var now = _clock.GetUtcNow().UtcDateTime;
        if (now - _lastPurge < TimeSpan.FromHours(1))
        {
            return;
        }

        _lastPurge = now;
        try
        {
            using var command = connection.CreateCommand();
            command.CommandText = "DELETE FROM usage WHERE minute < $m; DELETE FROM refusals WHERE minute < $m; DELETE FROM quota WHERE minute < $m; DELETE FROM connections WHERE minute < $m;";
            command.Parameters.AddWithValue("$m", new DateTimeOffset(now - _settings.Retention).ToUnixTimeSeconds() / 60);
            command.ExecuteNonQuery();
        }
        catch (SqliteException ex)
        {
            ReportError(ex);
        }
    }

    /// <summary>
    /// Every consumer's requests counted against its quota in the current period, back into its counter: at start,
    /// and after a reload for the counters it created (each counter is restored once, see <see cref="QuotaCounter.Restored"/>).
    /// </summary>
    private void RestoreQuotas(SqliteConnection connection, RuntimeSnapshot snapshot)
    {
        _quotasRestoredFor = snapshot;
        try
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT COALESCE(SUM(requests), 0) FROM quota WHERE tenant = $t AND consumer = $c AND minute >= $m";
            var tenant = command.Parameters.Add("$t", SqliteType.Text);
            var consumer = command.Parameters.Add("$c", SqliteType.Text);
            var minute = command.Parameters.Add("$m", SqliteType.Integer);
            foreach (var t in snapshot.Tenants.Values)
            {
                foreach (var c in t.Consumers)
                {
                    if (c.Quota is not { } quota || quota.Restored)
                    {
                        continue;
                    }

                    quota.Restored = true;

                    var start = quota.Current.Start;
                    tenant.Value = t.Name;
                    consumer.Value = c.Name;
                    minute.Value = new DateTimeOffset(start).ToUnixTimeSeconds() / 60;
                    var used = Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
                    if (used > 0)
                    {
                        quota.Restore(start, used);
                        LogQuotaRestored(_logger, _settings.Path, t.Name, c.Name, used, start);
                    }
                }
            }
        }
        catch (SqliteException ex)
        {
            ReportError(ex);
        }
    }

    /// <summary>
    /// Each access key's requests and last use from earlier runs, into its counter (once per key: at start, and after a
    /// reload for the keys it added), so the key API's <c>requests</c> and <c>last_used</c> survive a restart. The
    /// ledger row has what was flushed; this process's own counts are added by the flushes, never restored.
    /// </summary>
    private void RestoreKeys(SqliteConnection connection, RuntimeSnapshot snapshot)
    {
        try
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT requests, last_used FROM keys WHERE tenant = $t AND key = $k";
            var tenant = command.Parameters.Add("$t", SqliteType.Text);
            var key = command.Parameters.Add("$k", SqliteType.Text);
            foreach (var t in snapshot.Tenants.Values)
            {
                foreach (var (id, usage) in t.State.Keys)
                {
                    if (usage.Restored)
                    {
                        continue;
                    }

                    usage.Restored = true;
                    tenant.Value = t.Name;
                    key.Value = id;
                    // What the ledger holds for the key, plus what it has read and not written yet less this usage's own
                    // part of that: a tenant removed and added again within a flush keeps its key's last requests.
                    var pending = _pendingKeys.GetValueOrDefault((t.Name, id));
                    var own = _seenKeys.GetValueOrDefault(usage);
                    using var reader = command.ExecuteReader();
                    var (stored, lastUsed) = reader.Read() ? (reader.GetInt64(0), reader.GetInt64(1)) : (0L, 0L);
                    if (stored + pending.Requests - own > 0 || Math.Max(lastUsed, pending.LastUsed) > 0)
                    {
                        usage.Restore(stored + pending.Requests - own, Math.Max(lastUsed, pending.LastUsed));
                    }
                }
            }
        }
        catch (SqliteException ex)
        {
            ReportError(ex);
        }
    }
}
