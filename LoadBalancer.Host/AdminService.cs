using LoadBalancer.Core.Admin;
using LoadBalancer.Core.Management;
using LoadBalancer.Core.Metrics;
using LoadBalancer.Core.Proxy;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Host;

/// <summary>
/// Serves the admin endpoint (<c>[admin] listen</c>, tokens from the live snapshot) with lb's own engine, if configured:
/// <c>/healthz</c>, <c>POST /reload</c>, the read-only <see cref="AdminEndpoints"/> (metrics, tenants, usage), backend
/// drain, the dashboard, the management API (<see cref="ConfigApi"/>) and <c>GET /api/openapi.json</c>; exactly the
/// paths of <see cref="AdminRoutes"/>.
/// </summary>
internal sealed class AdminService : IHostedService
{
    private readonly ProxyEngine engine;
    private readonly ConfigReloader reloader;
    private readonly LbMetrics metrics;
    private readonly UsageLedgerService usage;
    private readonly DashboardService dashboard;
    private readonly ILogger<AdminService> logger;
    private readonly AuditLog _audit;
    private readonly ConfigApi _config;
    private AdminServer? _server;

    public AdminService(LbOptions options, ProxyEngine engine, ConfigReloader reloader, LbMetrics metrics, UsageLedgerService usage, DashboardService dashboard, ILogger<AdminService> logger)
    {
        this.engine = engine;
        this.reloader = reloader;
        this.metrics = metrics;
        this.usage = usage;
        this.dashboard = dashboard;
        this.logger = logger;
        _audit = new AuditLog(() => engine.Snapshots.Current.AdminAuditLog, logger);
        _config = new ConfigApi(options.ConfigPath, ApplyAsync, _audit);
    }

    /// <summary>A management write applies through the same reload as POST /reload.</summary>
    private async Task<ConfigApplyResult> ApplyAsync(CancellationToken cancellationToken)
    {
        var result = await reloader.ReloadAsync("api").ConfigureAwait(false);
        return new ConfigApplyResult(result.Outcome != ReloadOutcome.Rejected, result.Summary, result.Errors);
    }

    /// <summary>Binds the admin endpoint, if configured and not bound yet; throws when the address is taken.</summary>
    public void Bind()
    {
        var endPoint = engine.Snapshots.Current.AdminEndPoint;
        if (endPoint is not null && _server is null)
        {
            // The tokens are the live snapshot's at each request: a reload that adds, removes or re-roles one needs no restart.
            _server = AdminServer.Start(endPoint, HandleAsync, () => engine.Snapshots.Current.AdminCredentials, logger);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        Bind();
        if (_server is not null)
        {
            HostLog.AdminListening(logger, _server.EndPoint);
        }

        return Task.CompletedTask;
    }

    public System.Net.IPEndPoint? EndPoint => _server?.EndPoint;

    private async ValueTask<AdminResponse> HandleAsync(AdminRequest request, CancellationToken cancellationToken)
    {
        // Only what the route table (and so the OpenAPI document) lists is served; a known path with another method
        // goes on to its handler's 405.
        if (!AdminRoutes.IsKnownPath(request.Path))
        {
            return AdminResponse.Text(404, "not found\n");
        }

        if (OpenApiDocument.TryHandle(request) is { } openApi)
        {
            return openApi;
        }

        // The live dashboard: GET / and its JSON; a read token's page shows no drain buttons.
        if (dashboard.TryHandle(request, role: request.Caller.Role == Core.Management.AdminRole.Read ? "read" : "write") is { } page)
        {
            return page;
        }

        if (await _config.TryHandleAsync(request, cancellationToken).ConfigureAwait(false) is { } configAnswer) // /api/config/...
        {
            return configAnswer;
        }

        if (BackendAdminEndpoints.TryHandle(request, engine.Snapshots.Current, logger) is { } backendAnswer) // health: /api/pools, drain, enable
        {
            return backendAnswer;
        }

        if (request is { Method: "GET", Path: "/api/usage" } && Core.Usage.UsageQuery.AsksLedger(request.Query))
        {
            return await QueryLedgerAsync(request.Query).ConfigureAwait(false);
        }

        if (AdminEndpoints.TryHandle(request, metrics) is { } answered)
        {
            return answered;
        }

        switch (request.Method, request.Path)
        {
            case ("GET", "/healthz"):
                return engine.IsDraining ? AdminResponse.Text(503, "draining\n") : AdminResponse.Text(200, "ok\n");
            case ("POST", "/reload"):
                var result = await reloader.ReloadAsync("admin").ConfigureAwait(false);
                var body = result.Outcome == ReloadOutcome.Rejected
                    ? result.Summary + "\n" + string.Join("\n", result.Errors) + "\n"
                    : result.Summary + "\n";
                return AdminResponse.Text(result.Outcome == ReloadOutcome.Rejected ? 422 : 200, body);
            default:
                return AdminResponse.Text(404, "not found\n");
        }
    }

    /// <summary>The ledger's answer to a usage query: flushed first, so exact up to now; 404 without <c>[usage]</c>.</summary>
    private async Task<AdminResponse> QueryLedgerAsync(string query)
    {
        if (usage.Ledger is not { } ledger)
        {
            return AdminResponse.Text(404, "no usage ledger: configure [usage] path in lb.toml\n");
        }

        if (Core.Usage.UsageQuery.TryParse(query, DateTimeOffset.UtcNow, out var error) is not { } parsed)
        {
            return AdminResponse.Text(400, error + "\n");
        }

        var rows = await ledger.QueryAsync(parsed.Run).ConfigureAwait(false);
        return parsed.Csv
            ? new AdminResponse(200, "text/csv; charset=utf-8", System.Text.Encoding.UTF8.GetBytes(parsed.ToCsv(rows)))
            : AdminResponse.Json(200, parsed.ToJson(rows));
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is not null)
        {
            await _server.DisposeAsync().ConfigureAwait(false);
            _server = null;
        }

        await _audit.DisposeAsync().ConfigureAwait(false);
    }
}
