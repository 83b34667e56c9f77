using System.Diagnostics;
using System.Text.Json;
using LoadBalancer.Core.Admin;
using LoadBalancer.Core.Config;
using LoadBalancer.Core.Dashboard;
using LoadBalancer.Core.Routing;
using LoadBalancer.Core.Tenancy;

namespace LoadBalancer.Tests.Unit.Dashboard;

/// <summary>The sampler turns totals into rates and history per tick, and the JSON pages, sorts and filters tenants.</summary>
[TestFixture]
public sealed class DashboardSamplerTests
{
    private const string Toml = """
        [[listeners]]
        name = "web"
        listen = "127.0.0.1:0"

        [[tenants]]
        name = "busy"
        match = ["busy.test"]
        pool = "p"

        [[tenants]]
        name = "idle"
        match = ["idle.test"]
        pool = "p"

        [[tenants]]
        name = "quiet"
        match = ["quiet.test"]
        pool = "p"

        [[pools]]
        name = "p"
        backends = [{ address = "127.0.0.1:9" }]
        """;

    private static readonly long Second = Stopwatch.Frequency;

    private static (DashboardSampler Sampler, RuntimeSnapshot Snapshot) Start()
    {
        var loaded = ConfigLoader.LoadText(Toml, "test.toml");
        Assert.That(loaded.Success, Is.True, () => string.Join("\n", loaded.Errors));
        return (new DashboardSampler(new SnapshotHolder(loaded.Snapshot!), period: null), loaded.Snapshot!);
    }

    private static void Serve(TenantState state, int requests, int status, double milliseconds)
    {
        for (var i = 0; i < requests; i++)
        {
            state.CountRequest(status, 100, 900, (long)(milliseconds / 1000 * Second));
        }
    }

    [Test]
    public void Sample_TwoTicks_GivesRatesErrorShareAndLatency()
    {
        var (sampler, snapshot) = Start();
        using var _ = sampler;
        var busy = snapshot.Tenants["busy"].State;
        sampler.Sample(Second);
        Serve(busy, 90, 200, 3);
        Serve(busy, 10, 503, 3);
        busy.CountRefused(RefusalReason.MaxInFlight);
        busy.CountRefused(RefusalReason.MaxInFlight);
        sampler.Sample(3 * Second); // two seconds later

        var series = sampler.Series(busy)!;
        Assert.Multiple(() =>
        {
            Assert.That(series.Meter.RequestsPerSecond, Is.EqualTo(50));
            Assert.That(series.Meter.ErrorRate, Is.EqualTo(0.1).Within(1e-9));
            Assert.That(series.Meter.BytesPerSecond, Is.EqualTo(50_000));
            Assert.That(series.Meter.P50, Is.InRange(2.5, 5.0));
            Assert.That(series.RefusalsPerSecond, Is.EqualTo(1));
            Assert.That(series.RefusedPerSecond[(int)RefusalReason.MaxInFlight], Is.EqualTo(1));
        });
    }

    [Test]
    public void Sample_EverySlotTicks_AddsHistoryOnlyForTenantsWithTraffic()
    {
        var (sampler, snapshot) = Start();
        using var _ = sampler;
        var busy = snapshot.Tenants["busy"].State;
        for (var tick = 1; tick <= DashboardSampler.SlotTicks * 2; tick++)
        {
            Serve(busy, 10, 200, 1);
            sampler.Sample(tick * Second);
        }

        var history = sampler.Series(busy)!.History!;
        Assert.Multiple(() =>
        {
            Assert.That(history.Count, Is.EqualTo(2));
            Assert.That(history.Get(TenantSeries.RequestsField, 1), Is.EqualTo(10).Within(0.01));
            Assert.That(sampler.Series(snapshot.Tenants["idle"].State), Is.Null, "a tenant without traffic gets no series at all");
        });
    }

    [Test]
    public void Sample_TenantIdleUntilNow_FirstSeriesCountsFromZero_LikeOneSampledAllAlong()
    {
        var (sampler, snapshot) = Start();
        using var _ = sampler;
        var idle = snapshot.Tenants["idle"].State;
        sampler.Sample(Second);
        sampler.Sample(2 * Second);
        Assert.That(sampler.Series(idle), Is.Null);

        Serve(idle, 40, 200, 1);
        sampler.Sample(4 * Second); // two seconds after the last tick, which saw it idle
        var series = sampler.Series(idle)!;
        Assert.That(series.Meter.RequestsPerSecond, Is.EqualTo(20));
        for (var tick = 5; tick <= DashboardSampler.SlotTicks + 1; tick++)
        {
            sampler.Sample(tick * Second); // the tenth tick (at 11 s) closes the first slot
        }

        // The slot began with every other tenant's (at the first tick, 1 s), so its first history point covers all 40.
        Assert.That(series.History!.Get(TenantSeries.RequestsField, 0), Is.EqualTo(40.0 / DashboardSampler.SlotTicks).Within(0.01));
    }

    [Test]
    public void Summary_SortsByLoadFiltersAndPages()
    {
        var (sampler, snapshot) = Start();
        using var _ = sampler;
        sampler.Sample(Second);
        Serve(snapshot.Tenants["quiet"].State, 5, 200, 1);
        Serve(snapshot.Tenants["busy"].State, 50, 200, 1);
        sampler.Sample(2 * Second);

        var byLoad = Get(sampler, "/api/dashboard", "limit=2");
        var filtered = Get(sampler, "/api/dashboard", "q=UI&sort=name");
        Assert.Multiple(() =>
        {
            Assert.That(Names(byLoad), Is.EqualTo(new[] { "busy", "quiet" }));
            Assert.That(byLoad.GetProperty("matched").GetInt32(), Is.EqualTo(3));
            Assert.That(byLoad.GetProperty("totals").GetProperty("rps").GetDouble(), Is.EqualTo(55));
            Assert.That(byLoad.GetProperty("role").GetString(), Is.EqualTo("write"));
            Assert.That(Names(filtered), Is.EqualTo(new[] { "quiet" }));
        });
    }

    [Test]
    public void Tenant_UnknownName_Is404_AndPageIsServedWithoutToken()
    {
        var (sampler, _) = Start();
        using var __ = sampler;
        var missing = DashboardEndpoints.TryHandle(new AdminRequest("GET", "/api/dashboard/tenants/nope", "", []), sampler, new ConfigStatus(), "read");
        var page = DashboardEndpoints.TryHandle(new AdminRequest("GET", "/", "", []), sampler, new ConfigStatus(), "read");
        Assert.Multiple(() =>
        {
            Assert.That(missing!.Status, Is.EqualTo(404));
            Assert.That(page!.ContentType, Does.StartWith("text/html"));
            Assert.That(DashboardEndpoints.IsPublic("GET", "/dashboard.js"), Is.True);
            Assert.That(DashboardEndpoints.IsPublic("GET", "/api/dashboard"), Is.False);
            Assert.That(DashboardEndpoints.IsPublic("POST", "/"), Is.False);
        });
    }

    private static JsonElement Get(DashboardSampler sampler, string path, string query)
    {
        var response = DashboardEndpoints.TryHandle(new AdminRequest("GET", path, query, []), sampler, new ConfigStatus(), "write");
        Assert.That(response!.Status, Is.EqualTo(200));
        return JsonDocument.Parse(response.Body).RootElement.Clone();
    }

    private static string[] Names(JsonElement summary)
        => [.. summary.GetProperty("tenants").EnumerateArray().Select(t => t.GetProperty("name").GetString()!)];
}
