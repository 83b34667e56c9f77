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
    private const string Chromium = "/usr/bin/chromium";

    private static readonly string[] ChromiumArgs =
        ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

    [Test]
    [CancelAfter(60_000)]
    public async Task Dashboard_UnderLoad_ShowsBothTenantsARejectedReloadAndDrainsABackend(CancellationToken cancellationToken)
    {
        if (!File.Exists(Chromium))
        {
            Assert.Ignore("chromium (apt package chromium) is not installed; .ci/run installs it.");
        }

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

        using var playwright = await Playwright.CreateAsync();
        var profile = Directory.CreateTempSubdirectory("lb-chromium-").FullName;
        try
        {
            await using var browser = await playwright.Chromium.LaunchPersistentContextAsync(profile, new BrowserTypeLaunchPersistentContextOptions
            {
                ExecutablePath = Chromium,
                Headless = true,
                Args = ChromiumArgs,
                ViewportSize = new ViewportSize { Width = 1400, Height = 900 },
                Timeout = 20_000,
            });
            browser.SetDefaultTimeout(15_000);
            var page = browser.Pages.Count > 0 ? browser.Pages[0] : await browser.NewPageAsync();
            var consoleErrors = new List<string>();
            page.Console += (_, message) =>
            {
                if (message.Type == "error")
                {
                    lock (consoleErrors)
                    {
                        consoleErrors.Add(message.Text);
                    }
                }
            };
            page.PageError += (_, error) =>
            {
                lock (consoleErrors)
                {
                    consoleErrors.Add("page error: " + error);
                }
            };

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

            lock (consoleErrors)
            {
                Assert.That(consoleErrors, Is.Empty, "console errors on the dashboard");
            }
        }
        finally
        {
            if (betaLoad is not null)
            {
                await betaLoad.DisposeAsync();
            }

            Directory.Delete(profile, recursive: true);
        }

        Assert.That(alphaLoad.Outcomes, Is.Not.Empty);
    }
}
