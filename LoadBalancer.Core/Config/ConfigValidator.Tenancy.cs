namespace LoadBalancer.Core.Config;

/// <summary>Tenant isolation, access keys, per-backend caps, the access log and the admin token.</summary>
internal static partial class ConfigValidator
{
    private const long MaxRate = 1_000_000;
    private const long MaxCount = 1_000_000;
    private const long MaxBodyLimit = 1L << 40;
    private const long MaxBufferLines = 1_000_000;

    private static void ValidateTenancy(LbConfigFile file, ConfigErrorList errors)
    {
        var keyIds = new Dictionary<LbTenantSection, Dictionary<string, string>>();
        var consumed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var consumer in file.Consumers)
        {
            if (consumer.Tenant is { } name)
            {
                consumed.Add(name.Value);
            }
        }

        foreach (var tenant in file.Tenants)
        {
            tenant.HasConsumers = tenant.Name is { } name && consumed.Contains(name.Value);
        }

        var baseDirectory = BaseDirectory(errors);
        foreach (var tenant in file.Tenants)
        {
            CheckRange(tenant.RequestsPerSecond, tenant.Path, "rate_limit.requests_per_second", 1, MaxRate, errors);
            CheckRange(tenant.Burst, tenant.Path, "rate_limit.burst", 1, MaxRate, errors);
            CheckRange(tenant.MaxConnections, tenant.Path, "max_connections", 1, MaxCount, errors);
            CheckRange(tenant.MaxInFlight, tenant.Path, "max_in_flight", 1, MaxCount, errors);
            CheckRange(tenant.MaxBodyBytes, tenant.Path, "max_body_bytes", 0, MaxBodyLimit, errors);
            if (tenant.KeyApproval is { } approval && approval.Value is not ("auto" or "manual"))
            {
                errors.Add(approval.Position, TomlConfigLoader.Join(tenant.Path, "key_approval"), $"must be \"auto\" or \"manual\", not \"{approval.Value}\"");
            }

            if (ValidateAccessKeys(tenant, baseDirectory, errors) is { } ids)
            {
                keyIds[tenant] = ids;
            }
        }

        ValidateConsumers(file, keyIds, errors);
        ValidateUsage(file.Usage, errors);

        foreach (var pool in file.Pools)
        {
            CheckRange(pool.MaxConnectionsPerBackend, pool.Path, "max_connections_per_backend", 1, MaxCount, errors);
            CheckDuration(pool.Queue, pool.Path, "timeouts.queue", errors);
        }

        if (file.AccessLog is { } accessLog)
        {
            if (accessLog.Target is { Value.Length: 0 } target)
            {
                errors.Add(target.Position, "access_log.path", "must be \"stdout\" or a file path, not empty");
            }

            CheckRange(accessLog.BufferLines, "access_log.buffer_lines", 1, MaxBufferLines, errors);
        }

        if (file.Admin?.Token is { } token && token.Value.Trim().Length < 16)
        {
            errors.Add(token.Position, "admin.token", "must be at least 16 characters (generate one with `lb key new`)");
        }
    }

    private static string BaseDirectory(ConfigErrorList errors) => Path.GetDirectoryName(Path.GetFullPath(errors.File)) ?? ".";

    /// <summary>The tenant's keys; returns the key ids seen (id -> where), which its consumers' keys must not reuse; null when it has no keys.</summary>
    private static Dictionary<string, string>? ValidateAccessKeys(LbTenantSection tenant, string baseDirectory, ConfigErrorList errors)
    {
        if (tenant.AccessKeys is null && tenant.AccessKeysFile is null && tenant.AccessKeyHeader is null)
        {
            return null;
        }

        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        ValidateKeyEntries(tenant.AccessKeys, ids, errors);
        if (tenant.AccessKeysFile is { } keysFile)
        {
            ReadKeysFile(keysFile, TomlConfigLoader.Join(tenant.Path, "access_keys_file"), baseDirectory, ids, tenant.FileKeys, errors);
        }

        var hasKeys = tenant.AccessKeys is { Count: > 0 } || tenant.AccessKeysFile is not null;
        if (tenant.AccessKeyHeader is { } header)
        {
            var headerPath = TomlConfigLoader.Join(tenant.Path, "access_key_header");
            if (!ConfigSyntax.IsToken(header.Value))
            {
                errors.Add(header.Position, headerPath, $"\"{header.Value}\" is not a header name");
            }
            else if (!hasKeys && !tenant.HasConsumers)
            {
                errors.Add(header.Position, headerPath, "has no effect without access_keys, access_keys_file or consumers");
            }
        }

        return ids;
    }

    private static void ValidateKeyEntries(List<LbAccessKeyEntry>? keys, Dictionary<string, string> ids, ConfigErrorList errors)
    {
        foreach (var key in keys ?? [])
        {
            if (key.Id is { } id)
            {
                CheckKeyId(id.Value, id.Position, TomlConfigLoader.Join(key.Path, "id"), key.Path, ids, errors);
            }

            if (key.Sha256 is { } sha && !TryParseSha256(sha.Value, out _))
            {
                errors.Add(sha.Position, TomlConfigLoader.Join(key.Path, "sha256"), "must be 64 hex characters: the SHA-256 of the key (see `lb key new`)");
            }
        }
    }

    /// <summary>One <see cref="KeysFileLine"/> per line (<c>#</c> comments and blank lines ignored), into <paramref name="into"/>.</summary>
    private static void ReadKeysFile(ConfigValue<string> keysFile, string filePath, string baseDirectory, Dictionary<string, string> ids, List<KeysFileLine> into, ConfigErrorList errors)
    {
        var fullPath = Path.Combine(baseDirectory, keysFile.Value);
        string[] lines;
        try
        {
            lines = File.ReadAllLines(fullPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            errors.Add(keysFile.Position, filePath, $"cannot read \"{keysFile.Value}\": {e.Message}");
            lines = [];
        }

        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var where = $"{keysFile.Value}:{i + 1}";
            if (!KeysFileLine.TryParse(line, out var key, out var error))
            {
                errors.Add(keysFile.Position, filePath, $"{where}: {error}");
                continue;
            }

            if (CheckKeyId(key.Id, keysFile.Position, filePath, where, ids, errors))
            {
                into.Add(key);
            }
        }
    }

    private static bool CheckKeyId(string id, SourcePosition position, string path, string where, Dictionary<string, string> ids, ConfigErrorList errors)
    {
        if (id.Length == 0 || id.Length > 64 || !ConfigSyntax.IsToken(id))
        {
            errors.Add(position, path, $"key id \"{id}\" must be 1..64 characters without spaces or separators (an HTTP token)");
            return false;
        }

        if (!ids.TryAdd(id, where))
        {
            errors.Add(position, path, $"duplicate key id \"{id}\" (first used by {ids[id]})");
            return false;
        }

        return true;
    }

    internal static bool TryParseSha256(string value, out byte[] hash)
    {
        hash = [];
        if (value.Length != 64)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        hash = Convert.FromHexString(value);
        return true;
    }
}
