using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>
/// The built lb as a child process, as systemd runs it: signals (SIGHUP reload, SIGTERM/SIGINT drain, a second signal),
/// sd_notify messages on a NOTIFY_SOCKET the test binds, and the exit code.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed partial class ProcessTests
{
    private string _directory = null!;

    [SetUp]
    public void SetUp() => _directory = Directory.CreateTempSubdirectory("lb-proc-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_directory, recursive: true);

    private static string Config(string drainTimeout, string tenants) => $$"""
        [server]
        drain_timeout = "{{drainTimeout}}"

        [[listeners]]
        name = "web"
        listen = "127.0.0.1:0"

        {{tenants}}
        """;

    private static string Tenant(string name, string address) => $$"""
        [[tenants]]
        name = "{{name}}"
        match = ["{{name}}.test"]
        pool = "{{name}}-pool"

        [[pools]]
        name = "{{name}}-pool"
        backends = [{ address = "{{address}}" }]

        """;

    [Test]
    [CancelAfter(40_000)]
    public async Task Sighup_Reloads_Sigterm_DrainsUnderLoadAndExits0_NotifyingSystemd(CancellationToken cancellationToken)
    {
        await using var backends = TestBackends.Start("a1", "g1");
        await using var slow = ScriptedBackend.Start("s1");
        var path = Path.Combine(_directory, "lb.toml");
        var acme = Tenant("acme", backends.Address("a1")) + Tenant("slow", slow.Address);
        await File.WriteAllTextAsync(path, Config("10s", acme), cancellationToken);
        using var notify = new NotifySocket();

        // --no-watch: the file watcher would reload too, and this test must see SIGHUP do it.
        await using var lb = await LbProcess.StartAsync(path, cancellationToken, notify.Path, "--no-watch");
        await notify.WaitForAsync(m => m.Split('\n').Contains("READY=1"), cancellationToken);
        var web = lb.EndPoint();
        Assert.That((await HttpProbe.GetOnceAsync(web, "globex.test", "/", cancellationToken)).Status, Is.EqualTo(421), "globex unknown before the reload");

        // SIGHUP: RELOADING=1 with the monotonic time in the same message, READY=1 once the new snapshot is live.
        await File.WriteAllTextAsync(path, Config("10s", acme + Tenant("globex", backends.Address("g1"))), cancellationToken);
        var signalled = MonotonicMicroseconds();
        lb.Signal(LbProcess.SIGHUP);
        var reloading = await notify.WaitForAsync(m => m.Contains("RELOADING=1"), cancellationToken);
        var stamp = long.Parse(MonotonicUsec().Match(reloading).Groups[1].Value);
        Assert.That(stamp, Is.InRange(signalled, MonotonicMicroseconds()), $"MONOTONIC_USEC is CLOCK_MONOTONIC at the reload: {reloading}");
        await notify.WaitForAsync(m => m.Split('\n').Contains("READY=1"), cancellationToken);
        var globex = await HttpProbe.GetOnceAsync(web, "globex.test", "/", cancellationToken);
        Assert.That((globex.Outcome, globex.Backend), Is.EqualTo((ProbeOutcome.Ok, "g1")), "globex routed after SIGHUP");

        // SIGTERM under load, with one slow request in flight.
        var forwardedBefore = backends["a1"].Requests + backends["g1"].Requests;
        var load = new LoadRun(web);
        var loops = new List<Task>();
        for (var i = 0; i < 3; i++)
        {
            loops.Add(load.KeepAliveLoopAsync(cancellationToken));
            loops.Add(load.NewConnectionLoopAsync(cancellationToken));
        }

        await load.WarmedUp.WaitAsync(cancellationToken);
        await using var slowClient = await HttpProbe.ConnectAsync(web, cancellationToken);
        var slowResponse = slowClient!.GetAsync("slow.test", "/slow", cancellationToken);
        await slow.SlowRequestArrived.WaitAsync(cancellationToken);

        load.Stopping = true;
        lb.Signal(LbProcess.SIGTERM);
        await notify.WaitForAsync(m => m.Split('\n').Contains("STOPPING=1"), cancellationToken);
        slow.ReleaseSlow();
        var slowResult = await slowResponse;
        await Task.WhenAll(loops);
        var exitCode = await lb.WaitForExitAsync(cancellationToken);

        var forwarded = backends["a1"].Requests + backends["g1"].Requests - forwardedBefore;
        TestContext.Progress.WriteLine(
            $"SIGTERM under load: {load.Ok} requests answered, {forwarded} reached a backend, {load.Failures.Count} failed; " +
            $"after the signal {load.NotTaken} were not taken (refused or closed before any response byte)");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(exitCode, Is.Zero, lb.Output);
            Assert.That(slowResult.Outcome, Is.EqualTo(ProbeOutcome.Ok), "the in-flight slow request finished during the drain");
            Assert.That(load.Failures, Is.Empty, () => string.Join("\n", load.Failures.Take(20)));
            Assert.That(load.Ok, Is.EqualTo(forwarded), "every request lb forwarded to a backend got its response to the client");
            Assert.That(notify.Received, Has.Some.Contains("STOPPING=1"));
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task SecondSignal_DuringDrain_ExitsAtOnce(CancellationToken cancellationToken)
    {
        await using var slow = ScriptedBackend.Start("s1");
        var path = Path.Combine(_directory, "lb.toml");
        await File.WriteAllTextAsync(path, Config("10m", Tenant("slow", slow.Address)), cancellationToken);
        await using var lb = await LbProcess.StartAsync(path, cancellationToken);
        await using var client = await HttpProbe.ConnectAsync(lb.EndPoint(), cancellationToken);
        var stuck = client!.GetAsync("slow.test", "/slow", cancellationToken);
        await slow.SlowRequestArrived.WaitAsync(cancellationToken);

        // Ctrl+C: the drain would wait up to 10 minutes for the stuck request; a second Ctrl+C ends it now.
        lb.Signal(LbProcess.SIGINT);
        await lb.WaitForOutputAsync("Draining", cancellationToken);
        Assert.That(lb.HasExited, Is.False);
        lb.Signal(LbProcess.SIGINT);
        var exitCode = await lb.WaitForExitAsync(cancellationToken);

        Assert.That(exitCode, Is.EqualTo(130), lb.Output);
        Assert.That(lb.Output, Does.Contain("second SIGINT"));
        await stuck;
    }

    private static long MonotonicMicroseconds() => (long)(Stopwatch.GetTimestamp() * (1_000_000.0 / Stopwatch.Frequency));

    [GeneratedRegex(@"MONOTONIC_USEC=(\d+)")]
    private static partial Regex MonotonicUsec();

    /// <summary>
    /// Load against a process about to be stopped. After <see cref="Stopping"/>, a refused connect or a connection
    /// closed before any response byte means lb did not take the request (it stopped accepting, or closed an idle
    /// keep-alive connection) and ends the loop; anything else that is not a full 200 is a failure.
    /// </summary>
    private sealed class LoadRun(IPEndPoint web)
    {
        private readonly TaskCompletionSource _warmedUp = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _ok;
        private int _notTaken;

        public volatile bool Stopping;

        public ConcurrentQueue<string> Failures { get; } = new();

        public int Ok => Volatile.Read(ref _ok);

        public int NotTaken => Volatile.Read(ref _notTaken);

        /// <summary>Completes once 200 requests were answered: the load is running.</summary>
        public Task WarmedUp => _warmedUp.Task;

        public async Task KeepAliveLoopAsync(CancellationToken cancellationToken)
        {
            HttpProbe? probe = null;
            try
            {
                for (var n = 0; ; n++)
                {
                    probe ??= await HttpProbe.ConnectAsync(web, cancellationToken);
                    var stopping = Stopping;
                    var result = probe is null ? new ProbeResult(ProbeOutcome.Refused) : await probe.GetAsync(n % 2 == 0 ? "acme.test" : "globex.test", $"/{n}", cancellationToken);
                    if (!Record(result, stopping, "keep-alive"))
                    {
                        return;
                    }

                    if (result.ConnectionClose)
                    {
                        // lb is draining and said so: this connection is done, the next request needs a new one.
                        await probe!.DisposeAsync();
                        probe = null;
                    }
                }
            }
            finally
            {
                if (probe is not null)
                {
                    await probe.DisposeAsync();
                }
            }
        }

        public async Task NewConnectionLoopAsync(CancellationToken cancellationToken)
        {
            for (var n = 0; ; n++)
            {
                var stopping = Stopping;
                var result = await HttpProbe.GetOnceAsync(web, n % 2 == 0 ? "globex.test" : "acme.test", $"/{n}", cancellationToken);
                if (!Record(result, stopping, "new connection"))
                {
                    return;
                }
            }
        }

        /// <summary>Returns whether the loop goes on.</summary>
        private bool Record(ProbeResult result, bool stoppingBeforeSend, string client)
        {
            if (result.Outcome == ProbeOutcome.Ok)
            {
                if (Interlocked.Increment(ref _ok) == 200)
                {
                    _warmedUp.TrySetResult();
                }

                return true;
            }

            if (Stopping && result.Outcome is ProbeOutcome.Refused or ProbeOutcome.ClosedBeforeResponse)
            {
                Interlocked.Increment(ref _notTaken);
                return false;
            }

            Failures.Enqueue($"{client}: {result.Outcome} {result.Status} {result.Detail} (signal sent before the request: {stoppingBeforeSend})");
            _warmedUp.TrySetResult();
            return false;
        }
    }
}
