using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>
/// What an operator reads from a real lb process (issue 17): a port in use and a broken lb.toml as one positioned line
/// each, console logs one line per entry (or JSON lines), a startup line naming the config, and a drain summary.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed partial class ConsoleOutputTests
{
    private string _directory = null!;

    [SetUp]
    public void SetUp() => _directory = Directory.CreateTempSubdirectory("lb-console-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_directory, recursive: true);

    private static string Config(string listen, string backend, string drainTimeout = "30s") => $$"""
        [server]
        drain_timeout = "{{drainTimeout}}"

        [admin]
        listen = "127.0.0.1:0"

        [[listeners]]
        name = "web"
        listen = "{{listen}}"

        [[tenants]]
        name = "acme"
        match = ["acme.test"]
        pool = "p"

        [[pools]]
        name = "p"
        backends = [{ address = "{{backend}}" }]
        """;

    private async Task<string> WriteAsync(string toml, CancellationToken cancellationToken)
    {
        var path = Path.Combine(_directory, "lb.toml");
        await File.WriteAllTextAsync(path, toml, cancellationToken);
        return path;
    }

    // `listen = "..."` of [[listeners]] is line 9 and that of [admin] line 5; the values start at column 10.
    [TestCase("listeners[0].listen", 9)]
    [TestCase("admin.listen", 5)]
    [CancelAfter(30_000)]
    public async Task PortInUse_PrintsOnePositionedLine_NoStackTraceNoAdminNoDrain_Exits1(string taken, int line, CancellationToken cancellationToken)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Listen();
        var address = socket.LocalEndPoint!.ToString()!;
        var toml = Config(taken == "admin.listen" ? "127.0.0.1:0" : address, "127.0.0.1:9");
        if (taken == "admin.listen")
        {
            toml = toml.Replace("[admin]\nlisten = \"127.0.0.1:0\"", $"[admin]\nlisten = \"{address}\"", StringComparison.Ordinal);
        }

        var path = await WriteAsync(toml, cancellationToken);

        var (exitCode, lines) = await LbProcess.RunToExitAsync(cancellationToken, "--config", path);

        Assert.That(exitCode, Is.EqualTo(1));
        Assert.That(lines, Is.EqualTo(new[] { $"{path}:{line}:10: {taken}: cannot listen on {address}: address already in use" }));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task UnterminatedString_OneErrorAtItsPosition(CancellationToken cancellationToken)
    {
        // The tenant's name loses its closing quote: Tomlyn alone reports every later line too.
        var toml = Config("127.0.0.1:0", "127.0.0.1:9").Replace("name = \"acme\"", "name = \"acme", StringComparison.Ordinal);
        var path = await WriteAsync(toml, cancellationToken);

        var (exitCode, lines) = await LbProcess.RunToExitAsync(cancellationToken, "check", "--config", path);

        Assert.That(exitCode, Is.EqualTo(1));
        Assert.That(lines, Is.EqualTo(new[] { $"{path}:12:13: Invalid newline in a string" }));
    }

    [Test]
    [CancelAfter(40_000)]
    public async Task DefaultLog_OneLinePerEntry_StartupLineNamesConfig_NoHostingNoise_DrainSummaryCountsTheCut(CancellationToken cancellationToken)
    {
        await using var slow = ScriptedBackend.Start("s1");
        var path = await WriteAsync(Config("127.0.0.1:0", slow.Address, drainTimeout: "1s"), cancellationToken);
        await using var lb = await LbProcess.StartAsync(path, cancellationToken, null, "--no-watch");
        await using var client = await HttpProbe.ConnectAsync(lb.EndPoint(), cancellationToken);
        var stuck = client!.GetAsync("acme.test", "/slow", cancellationToken);
        await slow.SlowRequestArrived.WaitAsync(cancellationToken);

        lb.Signal(LbProcess.SIGTERM);
        var exitCode = await lb.WaitForExitAsync(cancellationToken);
        await stuck;
        var lines = lb.Output.Split('\n');

        using (Assert.EnterMultipleScope())
        {
            Assert.That(exitCode, Is.Zero, lb.Output);
            Assert.That(lines, Has.All.Match(SimpleLine().ToString()), "one line per entry: timestamp, level, category[event id], message");
            Assert.That(lines, Has.One.EndsWith($"lb started (pid {lb.Id}): {path}: OK: 1 listener, 1 tenant, 1 pool, 1 backend"));
            Assert.That(lines, Has.One.EndsWith("Draining: waiting up to 1s for 1 connection"));
            Assert.That(lines, Has.One.Match(@"Drain done in \d+(ms|\.\ds): 0 finished, 1 cut at drain_timeout 1s \(of 1 open when it began\)$"));
            Assert.That(lb.Output, Does.Not.Contain("Content root path").And.Not.Contain("Hosting environment").And.Not.Contain("Application started"));
            Assert.That(lb.Output, Does.Not.Contain("Health checks: 0"), "no pool has a health check");
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task LogFormatJson_EveryLineIsOneJsonObject_LogLevelDebugShowsConnectionLines(CancellationToken cancellationToken)
    {
        await using var backends = TestBackends.Start("a1");
        var path = await WriteAsync(Config("127.0.0.1:0", backends.Address("a1")), cancellationToken);
        await using var lb = await LbProcess.StartAsync(path, cancellationToken, null, "--no-watch", "--log-format", "json", "--log-level", "debug");
        Assert.That((await HttpProbe.GetOnceAsync(lb.EndPoint(), "nobody.test", "/", cancellationToken)).Status, Is.EqualTo(421));
        await lb.WaitForOutputAsync("\"EventId\":1100", cancellationToken); // Debug: the connection closed, and why
        lb.Signal(LbProcess.SIGTERM);
        Assert.That(await lb.WaitForExitAsync(cancellationToken), Is.Zero, lb.Output);

        var entries = lb.Output.Split('\n').Select(line => JsonDocument.Parse(line).RootElement).ToList();
        var ids = entries.Select(e => e.GetProperty("EventId").GetInt32()).ToList();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(entries, Has.All.Matches<JsonElement>(e => e.TryGetProperty("Timestamp", out _) && e.TryGetProperty("Category", out _) && e.TryGetProperty("Message", out _)));
            Assert.That(ids, Does.Contain(1000).And.Contain(2100), "listener, lb started");
            Assert.That(ids, Does.Contain(2101).Or.Contain(2102), "the drain summary (the 421 connection may still be closing)");
            Assert.That(entries.Single(e => e.GetProperty("EventId").GetInt32() == 2100).GetProperty("State").GetProperty("Summary").GetString(),
                Is.EqualTo($"{path}: OK: 1 listener, 1 tenant, 1 pool, 1 backend"));
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task LogFormatSystemd_EveryLineHasAJournalPriority(CancellationToken cancellationToken)
    {
        var path = await WriteAsync(Config("127.0.0.1:0", "127.0.0.1:9"), cancellationToken);
        await using var lb = await LbProcess.StartAsync(path, cancellationToken, null, "--no-watch", "--log-format", "systemd");
        lb.Signal(LbProcess.SIGTERM);
        Assert.That(await lb.WaitForExitAsync(cancellationToken), Is.Zero, lb.Output);

        // <6> is informational (sd-daemon.h); the journal adds the timestamp itself.
        Assert.That(lb.Output.Split('\n'), Has.All.Match(@"^<[0-7]>[\w.]+\[\d+\] \S"));
        Assert.That(lb.Output, Does.Contain($"<6>LoadBalancer.Host[2100] lb started (pid {lb.Id}): {path}: OK:"));
    }

    // "2026-12-02T19:51:30.323Z info: LoadBalancer.Engine[1000] Listener web (http) listening on 127.0.0.1:8080"
    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (trce|dbug|info|warn|fail|crit): [\w.]+\[\d+\] \S.*$")]
    private static partial Regex SimpleLine();
}
