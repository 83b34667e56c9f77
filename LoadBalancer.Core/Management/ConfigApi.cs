using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LoadBalancer.Core.Admin;
using LoadBalancer.Core.Config;

namespace LoadBalancer.Core.Management;

/// <summary>
/// The management API on the admin listener: lb.toml's tenants, pools and consumers as JSON with lb.toml's key names.
/// <c>GET /api/config</c> (the whole file), <c>GET /api/config/{kind}</c> (one kind, <c>{"tenants": [...]}</c>),
/// <c>GET|PUT|PATCH|DELETE /api/config/{kind}/{name}</c>. A write edits lb.toml's syntax tree (<see cref="TomlTableEditor"/>:
/// only that table changes), runs the reload's validation, rewrites the file atomically and applies it through the
/// same reload as <c>POST /reload</c>; <c>?dry_run=true</c> stops after validation and answers the diff. Writes are
/// serialized; <c>If-Match</c> (the <c>ETag</c> every answer carries) makes a stale write a 409.
/// </summary>
public sealed partial class ConfigApi(string configPath, Func<CancellationToken, Task<ConfigApplyResult>> apply, AuditLog? audit = null, Func<Routing.RuntimeSnapshot>? snapshot = null)
{
    private readonly SemaphoreSlim _writes = new(1, 1);

    /// <summary>The answer when the request is under <c>/api/config</c>; null otherwise.</summary>
    public async ValueTask<AdminResponse?> TryHandleAsync(AdminRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!AdminAccess.IsConfigPath(request.Path))
        {
            return null;
        }

        var parts = request.Path[AdminAccess.ConfigPrefix.Length..].Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length is >= 3 and <= 5 && parts[0] == "consumers" && parts[2] == "keys")
        {
            return await KeysAsync(request, Uri.UnescapeDataString(parts[1]), parts[3..], cancellationToken).ConfigureAwait(false);
        }

        if (parts.Length > 2 || (parts.Length > 0 && !ConfigResourceKinds.IsKind(parts[0])))
        {
            return ManagementJson.Error(404, $"no such resource: the resources are /api/config/{{{string.Join('|', ConfigResourceKinds.All)}}}[/{{name}}]");
        }

        if (parts.Length < 2)
        {
            return request.Method == "GET"
                ? await ReadAsync(parts.Length == 0 ? null : parts[0], null, cancellationToken).ConfigureAwait(false)
                : MethodNotAllowed("GET");
        }

        var kind = parts[0];
        var name = Uri.UnescapeDataString(parts[1]);
        return request.Method switch
        {
            "GET" => await ReadAsync(kind, name, cancellationToken).ConfigureAwait(false),
            "PUT" or "PATCH" or "DELETE" => await WriteAsync(request, kind, name, cancellationToken).ConfigureAwait(false),
            _ => MethodNotAllowed("GET, PUT, PATCH or DELETE"),
        };
    }

    private async Task<ConfigDocument> LoadAsync(CancellationToken cancellationToken)
    {
        var bytes = await File.ReadAllBytesAsync(configPath, cancellationToken).ConfigureAwait(false);

        // Parsing a big file holds a CPU for a while; never on the thread that called (it may serve connections).
        return await Task.Run(() => ConfigDocument.Parse(bytes, configPath), cancellationToken).ConfigureAwait(false);
    }

    private async Task<AdminResponse> ReadAsync(string? kind, string? name, CancellationToken cancellationToken)
    {
        var document = await LoadAsync(cancellationToken).ConfigureAwait(false);
        if (document.Json is null)
        {
            return Errors(422, document.SyntaxErrors.Select(ConfigApiError.From), document.ETag);
        }

        JsonNode? body;
        if (kind is null)
        {
            body = Redacted(document.Json);
        }
        else if (name is null)
        {
            body = new JsonObject { [kind] = document.Resources(kind).DeepClone() };
        }
        else if (document.Find(kind, name).Resource is { } resource)
        {
            body = resource;
        }
        else
        {
            return NotFound(kind, name, document.ETag);
        }

        return Json(200, writer => body!.WriteTo(writer), document.ETag);
    }

    private async Task<AdminResponse> WriteAsync(AdminRequest request, string kind, string name, CancellationToken cancellationToken)
    {
        var dryRun = Query(request.Query, "dry_run") is "true" or "1";
        JsonObject? body = null;
        if (request.Method != "DELETE")
        {
            body = JsonBody.Parse(request.Body, out var notJson) as JsonObject;
            if (notJson is not null)
            {
                return ManagementJson.Error(400, $"the body is not JSON: {notJson}");
            }

            if (body is null)
            {
                return Errors(422, [new ConfigApiError("", $"the body must be a JSON object: the {ConfigResourceKinds.Singular(kind)}'s lb.toml keys", null, null)], null);
            }
        }

        await _writes.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var document = await LoadAsync(cancellationToken).ConfigureAwait(false);
            if (request.IfMatch is { } ifMatch && !ConfigEtag.Matches(ifMatch, document.ETag))
            {
                return Json(409, writer =>
                {
                    writer.WriteStartObject();
                    writer.WriteString("error", "lb.toml changed since that ETag (by another write or by hand): GET it again, reapply the change and retry");
                    writer.WriteString("etag", document.ETag);
                    writer.WriteEndObject();
                }, document.ETag);
            }

            if (document.Syntax is null)
            {
                return Errors(422, document.SyntaxErrors.Select(ConfigApiError.From), document.ETag);
            }

            var (index, existing) = document.Find(kind, name);
            if (existing is null && request.Method != "PUT")
            {
                return NotFound(kind, name, document.ETag);
            }

            var (target, refusal) = Target(request.Method, kind, name, existing, body, document);
            if (refusal.Count > 0)
            {
                return Errors(422, refusal, document.ETag);
            }

            var editor = new TomlTableEditor(document.Text, document.Syntax);
            if (editor.CountResources(kind) != document.Resources(kind).Count)
            {
                return Errors(422, [new ConfigApiError(kind, $"lb.toml writes {kind} as an inline array; the API edits only [[{kind}]] tables (rewrite them as tables by hand once)", null, null)], document.ETag);
            }

            var text = existing is null ? editor.Add(kind, target!) : editor.Replace(kind, index, existing, target);
            var diff = LineDiff.Unified(document.Text, text, Path.GetFileName(configPath));
            var errors = await Task.Run(() => ConfigLoader.Check(text, configPath), cancellationToken).ConfigureAwait(false);
            var apiErrors = errors.Select(ConfigApiError.From).ToList();
            if (errors.Count == 0 && text != document.Text && Written(text, kind, name) is var readBack
                && (target is null ? readBack is not null : readBack is null || !JsonNode.DeepEquals(readBack, target)))
            {
                // The editor's own check: what it wrote must read back as what was asked.
                return ManagementJson.Error(500, "internal error: the edited lb.toml does not read back as the request; nothing was changed");
            }

            if (dryRun)
            {
                return Json(apiErrors.Count == 0 ? 200 : 422, writer =>
                {
                    writer.WriteStartObject();
                    writer.WriteBoolean("dry_run", true);
                    writer.WriteString("result", apiErrors.Count == 0 ? "valid" : "invalid");
                    writer.WriteString("diff", diff);
                    ConfigApiError.WriteAll(writer, apiErrors);
                    writer.WriteEndObject();
                }, document.ETag);
            }

            if (apiErrors.Count > 0)
            {
                await AuditAsync(request, kind, name, diff, "rejected", cancellationToken).ConfigureAwait(false);
                return Errors(422, apiErrors, document.ETag, diff);
            }

            if (text == document.Text)
            {
                await AuditAsync(request, kind, name, diff, "unchanged", cancellationToken).ConfigureAwait(false);
                return Written(200, "unchanged", target, diff, "unchanged", document.ETag);
            }

            var bytes = Encoding.UTF8.GetBytes(text);
            await ConfigFileWriter.WriteAsync(configPath, bytes, cancellationToken).ConfigureAwait(false);
            var applied = await apply(CancellationToken.None).ConfigureAwait(false);
            if (!applied.Applied)
            {
                // The file said what could not be applied (a listen address in use): put back what runs.
                await ConfigFileWriter.WriteAsync(configPath, document.Bytes, CancellationToken.None).ConfigureAwait(false);
                await AuditAsync(request, kind, name, diff, "rejected", CancellationToken.None).ConfigureAwait(false);
                return Errors(422, applied.Errors.Select(e => ConfigApiError.FromLine(configPath, e)), document.ETag, diff);
            }

            await AuditAsync(request, kind, name, diff, "applied", CancellationToken.None).ConfigureAwait(false);
            return Written(existing is null ? 201 : 200, "applied", target, diff, applied.Summary, ConfigEtag.Of(bytes));
        }
        finally
        {
            _writes.Release();
        }
    }

    /// <summary>
    /// The file without <c>[admin] token</c>'s secret: a <c>read</c> token may GET this, and must not learn a write token
    /// from it. (<c>[[admin.tokens]]</c> and access keys are stored as hashes, so they are shown.)
    /// </summary>
    private static JsonObject Redacted(JsonObject file)
    {
        if (file["admin"] is not JsonObject { } admin || !admin.ContainsKey("token"))
        {
            return file;
        }

        var copy = (JsonObject)file.DeepClone();
        copy["admin"]!["token"] = RedactedValue;
        return copy;
    }

    /// <summary>What <c>GET /api/config</c> shows for <c>[admin] token</c>.</summary>
    public const string RedactedValue = "<redacted>";

    private static JsonObject? Written(string text, string kind, string name)
        => ConfigDocument.Parse(Encoding.UTF8.GetBytes(text), "lb.toml").Find(kind, name).Resource;

    /// <summary>What the resource is to become (null: deleted), or why the request cannot say it.</summary>
    private static (JsonObject? Target, List<ConfigApiError> Refusal) Target(string method, string kind, string name, JsonObject? existing, JsonObject? body, ConfigDocument document)
    {
        var refusal = new List<ConfigApiError>();
        var singular = ConfigResourceKinds.Singular(kind);
        if (method == "DELETE")
        {
            if (kind == "pools")
            {
                foreach (var user in PoolUsers(document, name))
                {
                    refusal.Add(new ConfigApiError($"pools[{name}]", $"pool \"{name}\" is still used by tenant \"{user}\"; change or delete that tenant first", null, null));
                }
            }

            return (null, refusal);
        }

        JsonObject target;
        if (method == "PATCH")
        {
            target = JsonMergePatch.Apply(existing, body) as JsonObject ?? new JsonObject();
        }
        else
        {
            target = (JsonObject)body!.DeepClone();
            if (!target.ContainsKey("name"))
            {
                // name first, as lb.toml writes it.
                var named = new JsonObject { ["name"] = name };
                foreach (var (key, member) in target)
                {
                    named[key] = member?.DeepClone();
                }

                target = named;
            }
        }

        if (target["name"] is not JsonValue value || value.GetValueKind() != JsonValueKind.String || value.GetValue<string>() != name)
        {
            refusal.Add(new ConfigApiError("name", $"must be \"{name}\", the {singular}'s name in the path (renaming is a PUT of the new name and a DELETE of the old)", null, null));
        }

        if (TomlValueWriter.FindUnwritable(target, "") is { } unwritable)
        {
            refusal.Add(new ConfigApiError(unwritable.Path, unwritable.Reason, null, null));
        }

        return (target, refusal);
    }

    /// <summary>Tenants whose <c>pool</c>, or one of whose routes' <c>pool</c>, names the pool.</summary>
    private static List<string> PoolUsers(ConfigDocument document, string pool)
    {
        var users = new List<string>();
        foreach (var tenant in document.Resources("tenants"))
        {
            if (tenant is not JsonObject fields)
            {
                continue;
            }

            var uses = IsString(fields["pool"], pool);
            if (fields["routes"] is JsonArray routes)
            {
                foreach (var route in routes)
                {
                    uses |= route is JsonObject r && IsString(r["pool"], pool);
                }
            }

            if (uses)
            {
                users.Add(fields["name"]?.ToString() ?? "?");
            }
        }

        return users;
    }

    private static bool IsString(JsonNode? node, string value)
        => node is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>() == value;

    private Task AuditAsync(AdminRequest request, string kind, string name, string diff, string result, CancellationToken cancellationToken)
        => AuditAsync(request, $"{AdminAccess.ConfigPrefix}/{kind}/{name}", diff, result, cancellationToken);

    private async Task AuditAsync(AdminRequest request, string resource, string diff, string result, CancellationToken cancellationToken)
    {
        if (audit is not null)
        {
            await audit.WriteAsync(new AuditEntry(DateTimeOffset.UtcNow, request.Caller.TokenId, request.Method, resource, diff, result), cancellationToken).ConfigureAwait(false);
        }
    }

    private static AdminResponse Written(int status, string result, JsonObject? resource, string diff, string summary, string etag) => Json(status, writer =>
    {
        writer.WriteStartObject();
        writer.WriteString("result", result);
        writer.WritePropertyName("resource");
        if (resource is null)
        {
            writer.WriteNullValue();
        }
        else
        {
            resource.WriteTo(writer);
        }

        writer.WriteString("diff", diff);
        writer.WriteString("reload", summary);
        writer.WriteEndObject();
    }, etag);

    private static AdminResponse Errors(int status, IEnumerable<ConfigApiError> errors, string? etag, string? diff = null) => Json(status, writer =>
    {
        writer.WriteStartObject();
        ConfigApiError.WriteAll(writer, errors);
        if (diff is not null)
        {
            writer.WriteString("diff", diff);
        }

        writer.WriteEndObject();
    }, etag);

    private static AdminResponse NotFound(string kind, string name, string etag)
        => ManagementJson.Error(404, $"lb.toml has no {ConfigResourceKinds.Singular(kind)} named \"{name}\"") with { ETag = etag };

    private static AdminResponse MethodNotAllowed(string allowed) => ManagementJson.Error(405, $"method not allowed (use {allowed})");

    private static AdminResponse Json(int status, Action<Utf8JsonWriter> write, string? etag)
        => AdminResponse.Json(status, ManagementJson.Write(write)) with { ETag = etag };

    private static string? Query(string query, string key)
    {
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if ((equals < 0 ? pair : pair[..equals]) == key)
            {
                return equals < 0 ? "" : Uri.UnescapeDataString(pair[(equals + 1)..]);
            }
        }

        return null;
    }
}
