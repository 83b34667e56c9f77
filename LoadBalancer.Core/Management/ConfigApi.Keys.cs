using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LoadBalancer.Core.Admin;
using LoadBalancer.Core.Config;
using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Core.Management;

/// <summary>
/// The key lifecycle (issue 14): <c>/api/config/consumers/{name}/keys</c> lists a consumer's keys (GET) and creates one
/// (POST); <c>/keys/{id}</c> shows one; <c>/keys/{id}/approve</c> and <c>/keys/{id}/revoke</c> move it on. The secret is
/// made here, answered once and never stored: the consumer's <c>keys_file</c> gets its SHA-256 in a new line (or the
/// key's line is rewritten in place), through the same atomic write, reload and audit line as every other write, so a
/// change is in force before its answer leaves, for the next request of every connection.
/// </summary>
public sealed partial class ConfigApi
{
    private async Task<AdminResponse> KeysAsync(AdminRequest request, string consumer, string[] rest, CancellationToken cancellationToken)
    {
        var action = rest.Length == 2 ? rest[1] : null;
        if (action is not (null or "approve" or "revoke"))
        {
            return ManagementJson.Error(404, "no such resource: a key's actions are /keys/{id}/approve and /keys/{id}/revoke");
        }

        var id = rest.Length > 0 ? Uri.UnescapeDataString(rest[0]) : null;
        var allowed = (id, action) switch
        {
            (null, _) => "GET or POST",
            (_, null) => "GET",
            _ => "POST",
        };
        if (!allowed.Contains(request.Method, StringComparison.Ordinal))
        {
            return MethodNotAllowed(allowed);
        }

        if (request.Method == "GET")
        {
            return await ReadKeysAsync(consumer, id, cancellationToken).ConfigureAwait(false);
        }

        await _writes.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return action is null
                ? await CreateKeyAsync(request, consumer, cancellationToken).ConfigureAwait(false)
                : await MoveKeyAsync(request, consumer, id!, action == "approve" ? KeyState.Approved : KeyState.Revoked, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writes.Release();
        }
    }

    /// <summary>A consumer as the key API needs it: its tenant, whether that approves keys by hand, its keys file.</summary>
    private sealed record KeyOwner(ConfigDocument Document, JsonObject Consumer, string Tenant, bool Manual, string? KeysFilePath, string? KeysFileName);

    private async Task<(KeyOwner? Owner, AdminResponse? Refusal)> OwnerAsync(string consumer, CancellationToken cancellationToken)
    {
        var document = await LoadAsync(cancellationToken).ConfigureAwait(false);
        if (document.Json is null)
        {
            return (null, Errors(422, document.SyntaxErrors.Select(ConfigApiError.From), document.ETag));
        }

        if (document.Find("consumers", consumer).Resource is not { } fields)
        {
            return (null, NotFound("consumers", consumer, document.ETag));
        }

        var tenant = fields["tenant"] is JsonValue t && t.GetValueKind() == JsonValueKind.String ? t.GetValue<string>() : "";
        var manual = document.Find("tenants", tenant).Resource?["key_approval"] is JsonValue a && a.GetValueKind() == JsonValueKind.String && a.GetValue<string>() == "manual";
        string? name = fields["keys_file"] is JsonValue f && f.GetValueKind() == JsonValueKind.String ? f.GetValue<string>() : null;
        var path = name is null ? null : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(configPath)) ?? ".", name);
        return (new KeyOwner(document, fields, tenant, manual, path, name), null);
    }

    private async Task<AdminResponse> ReadKeysAsync(string consumer, string? id, CancellationToken cancellationToken)
    {
        var (owner, refusal) = await OwnerAsync(consumer, cancellationToken).ConfigureAwait(false);
        if (owner is null)
        {
            return refusal!;
        }

        var keys = new List<(KeysFileLine Key, string Source)>();
        var etag = owner.Document.ETag;
        if (owner.Consumer["keys"] is JsonArray inline)
        {
            foreach (var entry in inline)
            {
                if (entry is JsonObject e && e["id"]?.ToString() is { } inlineId && ConfigValidator.TryParseSha256(e["sha256"]?.ToString() ?? "", out var hash))
                {
                    keys.Add((new KeysFileLine(inlineId, hash, KeyState.Approved, null, null, null), "lb.toml"));
                }
            }
        }

        if (owner.KeysFilePath is not null)
        {
            var (file, unreadable) = await ReadKeysFileAsync(owner, cancellationToken).ConfigureAwait(false);
            if (file is null)
            {
                return unreadable!;
            }

            foreach (var (_, key) in file.Keys())
            {
                keys.Add((key, "keys_file"));
            }

            etag = ConfigEtag.Of(file.Bytes);
        }

        var tenant = snapshot?.Invoke().Tenants.GetValueOrDefault(owner.Tenant);
        if (id is not null)
        {
            var found = keys.FindIndex(k => k.Key.Id == id);
            if (found < 0)
            {
                return ManagementJson.Error(404, $"consumer \"{consumer}\" has no key \"{id}\"") with { ETag = etag };
            }

            return Json(200, writer => WriteKey(writer, keys[found].Key, keys[found].Source, tenant), etag);
        }

        return Json(200, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("consumer", consumer);
            writer.WriteString("tenant", owner.Tenant);
            writer.WriteString("key_approval", owner.Manual ? "manual" : "auto");
            if (owner.KeysFileName is { } keysFile)
            {
                writer.WriteString("keys_file", keysFile);
            }
            else
            {
                writer.WriteNull("keys_file");
            }

            writer.WriteStartArray("keys");
            foreach (var (key, source) in keys)
            {
                WriteKey(writer, key, source, tenant);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }, etag);
    }

    /// <summary>One key as GET shows it: never its hash or secret. Last used and requests are the live counters (since lb started).</summary>
    private static void WriteKey(Utf8JsonWriter writer, KeysFileLine key, string source, Routing.TenantSnapshot? tenant)
    {
        writer.WriteStartObject();
        writer.WriteString("id", key.Id);
        writer.WriteString("state", KeysFileLine.StateName(key.State));
        writer.WriteBoolean("expired", key.Expires is { } at && at <= DateTimeOffset.UtcNow);
        writer.WriteString("source", source);
        WriteTime(writer, "created", key.Created);
        WriteTime(writer, "expires", key.Expires);
        if (key.ApprovedBy is { } by)
        {
            writer.WriteString("approved_by", by);
        }
        else
        {
            writer.WriteNull("approved_by");
        }

        var usage = tenant?.State.FindKeyUsage(key.Id);
        WriteTime(writer, "last_used", usage?.LastUsed);
        writer.WriteNumber("requests", usage?.Requests ?? 0);
        writer.WriteEndObject();
    }

    private static void WriteTime(Utf8JsonWriter writer, string name, DateTimeOffset? time)
    {
        if (time is { } t)
        {
            writer.WriteString(name, KeysFileLine.FormatTime(t));
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    private async Task<AdminResponse> CreateKeyAsync(AdminRequest request, string consumer, CancellationToken cancellationToken)
    {
        JsonObject? body = null;
        if (request.Body.Length > 0)
        {
            // The same reader as the config writes: invalid UTF-8, a lone surrogate escape in a name and a member
            // named twice are 400 here rather than an exception when the fields are read.
            var parsed = JsonBody.Parse(request.Body, out var notJson);
            if (notJson is not null)
            {
                return ManagementJson.Error(400, $"the body is not JSON: {notJson}");
            }

            body = parsed as JsonObject;

            if (body is null)
            {
                return Errors(422, [new ConfigApiError("", "the body must be a JSON object: { \"id\": \"...\", \"expires\": \"<RFC 3339>\" }, both optional", null, null)], null);
            }
        }

        var (owner, refusal) = await OwnerAsync(consumer, cancellationToken).ConfigureAwait(false);
        if (owner is null)
        {
            return refusal!;
        }

        var problems = new List<ConfigApiError>();
        foreach (var (member, _) in body ?? [])
        {
            if (member is not ("id" or "expires"))
            {
                problems.Add(new ConfigApiError(member, "unknown field: a new key takes only \"id\" and \"expires\"", null, null));
            }
        }

        var id = AccessKeyGenerator.NewId();
        if (body?["id"] is { } idNode)
        {
            id = idNode is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : "";
            if (id.Length is 0 or > 64 || !ConfigSyntax.IsToken(id))
            {
                problems.Add(new ConfigApiError("id", "must be 1..64 characters without spaces or separators (an HTTP token)", null, null));
            }
        }

        DateTimeOffset? expires = null;
        if (body?["expires"] is { } expiresNode)
        {
            if (expiresNode is not JsonValue e || e.GetValueKind() != JsonValueKind.String || !KeysFileLine.TryParseTime(e.GetValue<string>(), out var at))
            {
                problems.Add(new ConfigApiError("expires", "must be an RFC 3339 time with its offset, e.g. \"2027-01-31T00:00:00Z\"", null, null));
            }
            else if (at <= DateTimeOffset.UtcNow)
            {
                problems.Add(new ConfigApiError("expires", $"{KeysFileLine.FormatTime(at)} is not in the future", null, null));
            }
            else
            {
                expires = at;
            }
        }

        if (owner.KeysFilePath is null)
        {
            problems.Add(new ConfigApiError($"consumers[{consumer}].keys_file", $"consumer \"{consumer}\" has no keys_file: keys made by the API are stored (as SHA-256) in the consumer's keys_file; add keys_file = \"{consumer}.keys\" to it (and create the file) first", null, null));
        }

        if (problems.Count > 0)
        {
            return Errors(422, problems, owner.Document.ETag);
        }

        var (file, unreadable) = await ReadKeysFileAsync(owner, cancellationToken).ConfigureAwait(false);
        if (file is null)
        {
            return unreadable!;
        }

        if (Stale(request, file) is { } stale)
        {
            return stale;
        }

        if (file.Find(id).Key is not null)
        {
            return Errors(422, [new ConfigApiError("id", $"consumer \"{consumer}\" already has a key \"{id}\" (revoke it, or choose another id)", null, null)], ConfigEtag.Of(file.Bytes));
        }

        // The secret lives only in this answer: the file gets its hash.
        var secret = AccessKeyGenerator.NewKey();
        var state = owner.Manual ? KeyState.Pending : KeyState.Approved;
        var now = DateTimeOffset.UtcNow;
        var created = now.AddTicks(-(now.UtcTicks % TimeSpan.TicksPerSecond));
        var line = new KeysFileLine(id, Convert.FromHexString(AccessKeyGenerator.Sha256Hex(secret)), state, created, expires, null);
        var (written, failure) = await WriteKeysFileAsync(request, owner, file, file.Append(line), cancellationToken).ConfigureAwait(false);
        if (failure is not null)
        {
            return failure;
        }

        return Json(written!.DryRun ? 200 : 201, writer =>
        {
            writer.WriteStartObject();
            if (written.DryRun)
            {
                writer.WriteBoolean("dry_run", true);
            }

            writer.WriteString("id", id);
            if (!written.DryRun)
            {
                writer.WriteString("key", secret);
            }

            writer.WriteString("state", KeysFileLine.StateName(state));
            writer.WriteString("consumer", consumer);
            writer.WriteString("tenant", owner.Tenant);
            WriteTime(writer, "created", line.Created);
            WriteTime(writer, "expires", expires);
            writer.WriteString("diff", written.Diff);
            writer.WriteEndObject();
        }, written.ETag);
    }

    private async Task<AdminResponse> MoveKeyAsync(AdminRequest request, string consumer, string id, KeyState to, CancellationToken cancellationToken)
    {
        var (owner, refusal) = await OwnerAsync(consumer, cancellationToken).ConfigureAwait(false);
        if (owner is null)
        {
            return refusal!;
        }

        var isInline = owner.Consumer["keys"] is JsonArray inline && inline.Any(k => k?["id"]?.ToString() == id);
        if (owner.KeysFilePath is null)
        {
            return NoLifecycle(owner, consumer, id, isInline);
        }

        var (file, unreadable) = await ReadKeysFileAsync(owner, cancellationToken).ConfigureAwait(false);
        if (file is null)
        {
            return unreadable!;
        }

        if (Stale(request, file) is { } stale)
        {
            return stale;
        }

        var (index, key) = file.Find(id);
        if (key is null)
        {
            return NoLifecycle(owner, consumer, id, isInline);
        }

        if (to == KeyState.Approved && key.State == KeyState.Revoked)
        {
            return ManagementJson.Error(409, $"key \"{id}\" is revoked, which is final: create a new key") with { ETag = ConfigEtag.Of(file.Bytes) };
        }

        var text = file.Text;
        if (key.State != to)
        {
            // Approval records who approved (the audit line has it too, with the time).
            var moved = key with { State = to, ApprovedBy = to == KeyState.Approved ? LineSafe(request.Caller.TokenId) : key.ApprovedBy };
            text = file.Replace(index, moved);
        }

        var (written, failure) = await WriteKeysFileAsync(request, owner, file, text, cancellationToken).ConfigureAwait(false);
        if (failure is not null)
        {
            return failure;
        }

        return Json(200, writer =>
        {
            writer.WriteStartObject();
            if (written!.DryRun)
            {
                writer.WriteBoolean("dry_run", true);
            }

            writer.WriteString("id", id);
            writer.WriteString("state", KeysFileLine.StateName(to));
            writer.WriteString("result", written.Result);
            writer.WriteString("diff", written.Diff);
            writer.WriteEndObject();
        }, written!.ETag);
    }

    /// <summary>A key the lifecycle cannot move: one written in lb.toml's <c>keys</c> (422), or none of that id (404).</summary>
    private static AdminResponse NoLifecycle(KeyOwner owner, string consumer, string id, bool isInline) => isInline
        ? Errors(422, [new ConfigApiError($"consumers[{consumer}].keys", $"key \"{id}\" is written in lb.toml's keys = [...], which has no lifecycle: move it to the consumer's keys_file to approve or revoke it (or delete it from keys)", null, null)], owner.Document.ETag)
        : ManagementJson.Error(404, $"consumer \"{consumer}\" has no key \"{id}\"") with { ETag = owner.Document.ETag };

    private static string LineSafe(string? tokenId)
    {
        var id = tokenId ?? "admin";
        var safe = new StringBuilder(id.Length);
        foreach (var c in id)
        {
            safe.Append(char.IsWhiteSpace(c) || c == '#' ? '_' : c);
        }

        return safe.ToString();
    }

    private static async Task<(KeysFile? File, AdminResponse? Refusal)> ReadKeysFileAsync(KeyOwner owner, CancellationToken cancellationToken)
    {
        try
        {
            return (await KeysFile.ReadAsync(owner.KeysFilePath!, cancellationToken).ConfigureAwait(false), null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, Errors(422, [new ConfigApiError("keys_file", $"cannot read \"{owner.KeysFileName}\": {e.Message}", null, null)], owner.Document.ETag));
        }
    }

    /// <summary>The write's outcome; <paramref name="ETag"/> is the keys file's tag after it (before it for a dry run).</summary>
    private sealed record KeysWrite(bool DryRun, string Result, string Diff, string ETag);

    /// <summary>
    /// A key write's <c>If-Match</c> is checked against the keys file's tag (what GET on <c>/keys</c> answers), not
    /// lb.toml's: that file is what the write edits, so two admins approving from one listing cannot both win, and a
    /// hand edit of the file since the GET is noticed.
    /// </summary>
    private static AdminResponse? Stale(AdminRequest request, KeysFile file)
    {
        var etag = ConfigEtag.Of(file.Bytes);
        return request.IfMatch is { } ifMatch && !ConfigEtag.Matches(ifMatch, etag)
            ? Json(409, writer =>
            {
                writer.WriteStartObject();
                writer.WriteString("error", "the consumer's keys_file changed since that ETag (by another write or by hand): GET its keys again and retry");
                writer.WriteString("etag", etag);
                writer.WriteEndObject();
            }, etag)
            : null;
    }

    /// <summary>
    /// Writes the keys file atomically and applies it through the reload (which validates it with lb.toml, as at any
    /// reload); a reload that refuses it gets the old file back and a 422. One audit line either way; a dry run writes
    /// nothing and logs nothing.
    /// </summary>
    private async Task<(KeysWrite? Written, AdminResponse? Failure)> WriteKeysFileAsync(AdminRequest request, KeyOwner owner, KeysFile file, string text, CancellationToken cancellationToken)
    {
        var diff = LineDiff.Unified(file.Text, text, owner.KeysFileName!);
        var resource = request.Path;
        if (Query(request.Query, "dry_run") is "true" or "1")
        {
            return (new KeysWrite(true, text == file.Text ? "unchanged" : "valid", diff, ConfigEtag.Of(file.Bytes)), null);
        }

        if (text == file.Text)
        {
            await AuditAsync(request, resource, diff, "unchanged", cancellationToken).ConfigureAwait(false);
            return (new KeysWrite(false, "unchanged", diff, ConfigEtag.Of(file.Bytes)), null);
        }

        var bytes = Encoding.UTF8.GetBytes(text);
        await ConfigFileWriter.WriteAsync(file.Path, bytes, cancellationToken).ConfigureAwait(false);
        var applied = await apply(CancellationToken.None).ConfigureAwait(false);
        if (!applied.Applied)
        {
            await ConfigFileWriter.WriteAsync(file.Path, file.Bytes, CancellationToken.None).ConfigureAwait(false);
            await AuditAsync(request, resource, diff, "rejected", CancellationToken.None).ConfigureAwait(false);
            return (null, Errors(422, applied.Errors.Select(e => ConfigApiError.FromLine(configPath, e)), ConfigEtag.Of(file.Bytes), diff));
        }

        await AuditAsync(request, resource, diff, "applied", CancellationToken.None).ConfigureAwait(false);
        return (new KeysWrite(false, "applied", diff, ConfigEtag.Of(bytes)), null);
    }
}
