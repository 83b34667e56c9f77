namespace LoadBalancer.Core.Management;

/// <summary>One write through the management API, as its audit line records it.</summary>
/// <param name="TokenId">The admin token's id (<c>[[admin.tokens]] id</c>, or <c>"token"</c> for <c>[admin] token</c>).</param>
/// <param name="Resource">The path written, e.g. <c>/api/config/tenants/acme</c>.</param>
/// <param name="Diff">The unified diff of lb.toml (empty when nothing changed).</param>
/// <param name="Result"><c>applied</c>, <c>unchanged</c> or <c>rejected</c>.</param>
public sealed record AuditEntry(DateTimeOffset Time, string? TokenId, string Method, string Resource, string Diff, string Result);
