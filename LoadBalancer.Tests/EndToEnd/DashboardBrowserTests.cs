using System.Diagnostics;
using System.Net.Http;
using LoadBalancer.Tests.TestSupport;
using Microsoft.Playwright;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>
/// The live dashboard in a real browser: Debian's chromium, headless, driven by Playwright's bundled driver (no browser
/// download), against the whole lb host serving traffic for two tenants. Every wait is on the page's own state.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class DashboardBrowserTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task Dashboard_UnderLoad_ShowsBothTenantsARejectedReloadAndDrainsABackend(CancellationToken cancellationToken)
    {
        HeadlessChromium.Require();
        await using var backends = TestBackends.Start("a1", "a2", "b1");
        var toml = $$"""
            [admin]
            listen = "127.0.0.1:0"

            [[listeners]]
            name = "web"
            listen = "127.0.0.1:0"

            [[tenants]]
            name = "alpha"
            match = ["alpha.test"]
            pool = "alpha-pool"

            [[tenants]]
            name = "beta"
            match = ["beta.test"]
            pool = "beta-pool"

            [[pools]]
            name = "alpha-pool"
            backends = [{ address = "{{backends.Address("a1")}}" }, { address = "{{backends.Address("a2")}}" }]

            [[pools]]
            name = "beta-pool"
            backends = [{ address = "{{backends.Address("b1")}}" }]
            """;
        await using var lb = await LbTestHost.StartAsync(toml);
        var admin = $"http://{lb.AdminEndPoint}/";
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri($"http://{lb.EndPoint()}/"), Timeout = TimeSpan.FromSeconds(10) };
        var clock = Stopwatch.StartNew();
        await using var alphaLoad = new SteadyLoad(client, "alpha.test", workers: 2, clock);
        SteadyLoad? betaLoad = null;

        await using var browser = await HeadlessChromium.LaunchAsync();
        var page = browser.Page;
        try
        {
            await page.GotoAsync(admin);

            // Live counters on the open page: beta is listed idle while alpha has traffic; beta's traffic starts only
            // now, and its rate turns non-zero with no reload of the page (the sampler ticks every second).
            const string Rate = "name => { const cell = document.querySelector(`tr[data-tenant='${name}'] td.rps`); return cell ? parseFloat(cell.textContent) : -1; }";
            await page.WaitForFunctionAsync($"name => ({Rate})(name) > 0", "alpha");
            Assert.That(await page.EvaluateAsync<double>(Rate, "beta"), Is.EqualTo(0), "beta has had no request yet");
            betaLoad = new SteadyLoad(client, "beta.test", workers: 1, clock);
            await page.WaitForFunctionAsync($"name => ({Rate})(name) > 0", "beta");

            // A rejected reload: its error is shown, positioned in lb.toml.
            await lb.WriteConfigAsync(toml + "\nnot_a_key = 1\n");
            var reload = await lb.Reloader.ReloadAsync("test");
            Assert.That(reload.Errors, Is.Not.Empty);
            await page.WaitForFunctionAsync("() => { const box = document.getElementById('reload-errors'); return !box.hidden && box.textContent.includes('not_a_key'); }");

            // Drain a backend from the page: its state changes there and in lb.
            var address = backends.Address("a1");
            await page.GotoAsync(admin + "#pools");
            var row = page.Locator($"tr[data-backend='{address}']");
            await row.Locator("button.drain").ClickAsync();
            await page.WaitForFunctionAsync(
                "address => document.querySelector(`tr[data-backend='${address}'] .state`)?.textContent === 'drained'",
                address);
            var backend = lb.Engine.Snapshots.Current.Pools["alpha-pool"].Backends.Single(b => b.Config.Address == address);
            Assert.That(backend.IsDrained, Is.True);

            // The tenant's detail view, for the screenshot: its charts and pools.
            await page.GotoAsync(admin + "#tenant/alpha");
            await page.WaitForFunctionAsync("() => document.querySelectorAll('#tenant-charts canvas').length === 7 && document.querySelector('#tenant-pools tr[data-backend]') !== null");
            var screenshot = Path.Combine(TestContext.CurrentContext.WorkDirectory, "dashboard-e2e.png");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
            TestContext.AddTestAttachment(screenshot, "the dashboard during the test (tenant alpha)");

            Assert.That(browser.ConsoleErrors, Is.Empty, "console errors on the dashboard");
        }
        finally
        {
            if (betaLoad is not null)
            {
                await betaLoad.DisposeAsync();
            }
        }

        Assert.That(alphaLoad.Outcomes, Is.Not.Empty);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Dashboard_WithAdminTokens_AsksForOne_ReadTokenHidesTheButtons_WriteShowsThem_FollowsDarkMode_TenantDetailShowsRoutesAndConsumers(CancellationToken cancellationToken)
    {
        HeadlessChromium.Require();
        const string ReadSecret = "dashboard-read-0123456789";
        const string WriteSecret = "dashboard-write-0123456789";
        const string AppKey = "lbk_dashboard_app_0123456789";
        await using var backends = TestBackends.Start("a1", "f1");
        var toml = $$"""
            [admin]
            listen = "127.0.0.1:0"
            {{Management.AdminTokensTests.Tokens(("viewer", ReadSecret, "read"), ("ops", WriteSecret, "write"))}}

            [[listeners]]
            name = "web"
            listen = "127.0.0.1:0"

            [[tenants]]
            name = "alpha"
            match = ["alpha.test"]
            pool = "alpha-pool"

            [[tenants.routes]]
            name = "chat"
            path_prefix = "/chat"

            [[tenants.routes]]
            name = "files"
            path_prefix = "/files"
            pool = "files-pool"

            [[pools]]
            name = "alpha-pool"
            backends = [{ address = "{{backends.Address("a1")}}" }]

            [[pools]]
            name = "files-pool"
            backends = [{ address = "{{backends.Address("f1")}}" }]

            [[consumers]]
            name = "app"
            tenant = "alpha"
            keys = [ { id = "app-1", sha256 = "{{Core.Tenancy.AccessKeyGenerator.Sha256Hex(AppKey)}}" } ]
            quota = { requests = 1000, period = "day" }
            """;
        await using var lb = await LbTestHost.StartAsync(toml);
        var admin = $"http://{lb.AdminEndPoint}/";
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri($"http://{lb.EndPoint()}/"), Timeout = TimeSpan.FromSeconds(10) };
        foreach (var path in new[] { "/chat/a", "/chat/b", "/files/c" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Host = "alpha.test";
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AppKey);
            using var response = await client.SendAsync(request, cancellationToken);
            Assert.That((int)response.StatusCode, Is.EqualTo(200), path);
        }

        await using var browser = await HeadlessChromium.LaunchAsync();
        var page = browser.Page;
        const string StoredToken = "() => sessionStorage.getItem('lb.admin.token')";
        const string Login = "#login";

        // No token yet: the page asks for one (the data endpoints answer 401), and keeps it in sessionStorage.
        await page.GotoAsync(admin + "#pools");
        await page.Locator(Login).WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Visible });
        Assert.That(await page.EvaluateAsync<string?>(StoredToken), Is.Null);
        await page.Locator("#login-token").FillAsync("not-a-token-of-this-lb");
        await page.Locator("#login-form button[type=submit]").ClickAsync();
        await page.WaitForFunctionAsync("() => document.getElementById('login').open && document.getElementById('login-error').textContent.includes('refused')");
        await page.Locator("#login-token").FillAsync(ReadSecret);
        await page.Locator("#login-form button[type=submit]").ClickAsync();
        await page.WaitForFunctionAsync("() => !document.getElementById('login').open && document.querySelector('tr[data-backend]') !== null");
        Assert.That(await page.EvaluateAsync<string?>(StoredToken), Is.EqualTo(ReadSecret));

        // The read token: backends listed without drain or enable buttons, and a write with that token is refused.
        var address = backends.Address("a1");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(await page.Locator("tr[data-backend]").CountAsync(), Is.EqualTo(2));
            Assert.That(await page.Locator("button.drain, button.enable").CountAsync(), Is.Zero);
            Assert.That(await page.Locator("#signout").IsVisibleAsync(), Is.True);
        }

        var drainWithIt = await page.EvaluateAsync<int>(
            "async path => (await fetch(path, { method: 'POST', headers: { Authorization: 'Bearer ' + sessionStorage.getItem('lb.admin.token') } })).status",
            $"/api/pools/alpha-pool/backends/{address}/drain");
        Assert.That(drainWithIt, Is.EqualTo(403));
        Assert.That(lb.Engine.Snapshots.Current.Pools["alpha-pool"].Backends[0].IsDrained, Is.False);

        // The token outlives a reload of the page (same tab); "forget token" asks again, and a write token shows the buttons.
        await page.ReloadAsync();
        await page.WaitForFunctionAsync("() => document.querySelector('tr[data-backend]') !== null");
        Assert.That(await page.Locator(Login).IsVisibleAsync(), Is.False);
        await page.Locator("#signout").ClickAsync();
        await page.Locator(Login).WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Visible });
        Assert.That(await page.EvaluateAsync<string?>(StoredToken), Is.Null);
        await page.Locator("#login-token").FillAsync(WriteSecret);
        await page.Locator("#login-form button[type=submit]").ClickAsync();
        await page.WaitForFunctionAsync("() => document.querySelectorAll('button.drain').length === 2");
        Assert.That(await page.EvaluateAsync<string?>(StoredToken), Is.EqualTo(WriteSecret));

        // Dark mode: the system's preference, changed with the page open, recolours the page.
        const string Background = "() => getComputedStyle(document.body).backgroundColor";
        var light = await page.EvaluateAsync<string>(Background);
        Assert.That(await page.EvaluateAsync<string>("() => document.documentElement.dataset.theme"), Is.EqualTo("light"));
        await page.EmulateMediaAsync(new PageEmulateMediaOptions { ColorScheme = ColorScheme.Dark });
        await page.WaitForFunctionAsync("light => document.documentElement.dataset.theme === 'dark' && getComputedStyle(document.body).backgroundColor !== light", light);
        var dark = await page.EvaluateAsync<string>(Background);
        Assert.That(dark, Is.Not.EqualTo(light));

        // The tenant's detail view: both routes (with their pools) and the consumer, with the requests they served.
        await page.GotoAsync(admin + "#tenant/alpha");
        const string Total = "selector => { const row = document.querySelector(selector); return row ? parseFloat(row.lastElementChild.textContent) : -1; }";
        await page.WaitForFunctionAsync(
            $"() => ({Total})(\"#route-rows tr[data-name='chat']\") === 2 && ({Total})(\"#route-rows tr[data-name='files']\") === 1 && ({Total})(\"#consumer-rows tr[data-name='app']\") === 3");
        var filesPool = await page.Locator("#route-rows tr[data-name='files'] td:nth-child(2)").TextContentAsync();
        Assert.That(filesPool, Is.EqualTo("files-pool"));
        var screenshot = Path.Combine(TestContext.CurrentContext.WorkDirectory, "dashboard-e2e-dark.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
        TestContext.AddTestAttachment(screenshot, "the dashboard in dark mode (tenant alpha with its routes and consumer)");

        // Chromium logs every 4xx answer to fetch as an error: the 401s before a token and the refused drain are expected.
        Assert.That(browser.ConsoleErrors.Where(e => !e.Contains("status of 401", StringComparison.Ordinal) && !e.Contains("status of 403", StringComparison.Ordinal)), Is.Empty, "console errors on the dashboard");
    }
}
