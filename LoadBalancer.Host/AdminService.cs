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
    private readonly Lock _rebind = new();
    private AdminServer? _server;

    // The [admin] listen the running server was bound for (as configured: "127.0.0.1:0" stays that, whatever port it got).
    private System.Net.IPEndPoint? _configured;

    // Servers whose address a reload moved, finishing their last answers; awaited on stop.
    private Task _retiring = Task.CompletedTask;

    public AdminService(LbOptions options, ProxyEngine engine, ConfigReloader reloader, LbMetrics metrics, UsageLedgerService usage, DashboardService dashboard, ILogger<AdminService> logger)
    {
        this.engine = engine;
        this.reloader = reloader;
        this.metrics = metrics;
        this.usage = usage;
        this.dashboard = dashboard;
        this.logger = logger;
        _audit = new AuditLog(() => engine.Snapshots.Current.AdminAuditLog, logger);
        _config = new ConfigApi(options.ConfigPath, ApplyAsync, _audit, () => engine.Snapshots.Current);
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
            _server = Start(endPoint);
            _configured = endPoint;
        }
    }

    private AdminServer Start(System.Net.IPEndPoint endPoint)
        => AdminServer.Start(endPoint, HandleAsync, () => engine.Snapshots.Current.AdminCredentials, logger);

    /// <summary>
    /// A reload that moves, adds or removes <c>[admin] listen</c> applies without a restart: the new address is bound
    /// first (if that fails the old one keeps serving, and the error is logged), then the old server retires, finishing
    /// the answers in progress (the POST /reload that moved it among them).
    /// </summary>
    private void OnReloaded(ReloadResult result)
    {
        if (result.Outcome != ReloadOutcome.Applied)
        {
            return;
        }

        lock (_rebind)
        {
            var wanted = engine.Snapshots.Current.AdminEndPoint;
            if (Equals(wanted, _configured))
            {
                return;
            }

            AdminServer? next = null;
            if (wanted is not null)
            {
                try
                {
                    next = Start(wanted);
                }
                catch (System.Net.Sockets.SocketException ex)
                {
                    HostLog.AdminRebindFailed(logger, wanted, ex.SocketErrorCode.ToString(), _server?.EndPoint?.ToString() ?? "none");
                    return;
                }

                HostLog.AdminListening(logger, next.EndPoint);
            }

            var old = _server;
            _server = next;
            _configured = wanted;
            if (old is not null)
            {
                _retiring = Task.WhenAll(_retiring, old.RetireAsync(TimeSpan.FromSeconds(10)).AsTask());
            }
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        Bind();
        reloader.Reloaded += OnReloaded;
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
        reloader.Reloaded -= OnReloaded;
        AdminServer? server;
        Task retiring;
        lock (_rebind)
        {
            server = _server;
            _server = null;
            retiring = _retiring;
        }

        if (server is not null)
        {
            await server.DisposeAsync().ConfigureAwait(false);
        }

        await retiring.ConfigureAwait(false);

        await _audit.DisposeAsync().ConfigureAwait(false);
    }
}
