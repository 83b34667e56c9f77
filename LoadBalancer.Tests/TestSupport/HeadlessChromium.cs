using Microsoft.Playwright;

namespace LoadBalancer.Tests.TestSupport;

/// <summary>
/// Debian's chromium, headless, driven by Playwright's bundled driver (no browser download), with a fresh profile
/// and the launch flags of issue 14 (the machine has no internet). Collects the page's console errors.
/// </summary>
public sealed class HeadlessChromium : IAsyncDisposable
{
    public const string Executable = "/usr/bin/chromium";

    private static readonly string[] Args =
        ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

    private readonly IPlaywright _playwright;
    private readonly string _profile;
    private readonly List<string> _consoleErrors = [];
    private IBrowserContext? _context;

    private HeadlessChromium(IPlaywright playwright, string profile)
    {
        _playwright = playwright;
        _profile = profile;
    }

    public IPage Page { get; private set; } = null!;

    /// <summary>Console errors and uncaught exceptions of the page so far.</summary>
    public IReadOnlyList<string> ConsoleErrors
    {
        get
        {
            lock (_consoleErrors)
            {
                return [.. _consoleErrors];
            }
        }
    }

    /// <summary>Ignores the test when chromium is not installed (.ci/run installs it).</summary>
    public static void Require()
    {
        if (!File.Exists(Executable))
        {
            Assert.Ignore("chromium (apt package chromium) is not installed; .ci/run installs it.");
        }
    }

    public static async Task<HeadlessChromium> LaunchAsync()
    {
        var browser = new HeadlessChromium(await Playwright.CreateAsync(), Directory.CreateTempSubdirectory("lb-chromium-").FullName);
        try
        {
            browser._context = await browser._playwright.Chromium.LaunchPersistentContextAsync(browser._profile, new BrowserTypeLaunchPersistentContextOptions
            {
                ExecutablePath = Executable,
                Headless = true,
                Args = Args,
                ViewportSize = new ViewportSize { Width = 1400, Height = 900 },
                Timeout = 20_000,
            });
            browser._context.SetDefaultTimeout(15_000);
            browser.Page = browser._context.Pages.Count > 0 ? browser._context.Pages[0] : await browser._context.NewPageAsync();
            browser.Page.Console += (_, message) =>
            {
                if (message.Type == "error")
                {
                    browser.AddError(message.Text);
                }
            };
            browser.Page.PageError += (_, error) => browser.AddError("page error: " + error);
            return browser;
        }
        catch
        {
            await browser.DisposeAsync();
            throw;
        }
    }

    private void AddError(string text)
    {
        lock (_consoleErrors)
        {
            _consoleErrors.Add(text);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_context is not null)
        {
            await _context.DisposeAsync();
        }

        _playwright.Dispose();
        Directory.Delete(_profile, recursive: true);
    }
}
