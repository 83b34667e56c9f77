using System.Collections;
using LoadBalancer.Host;
using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>
/// <c>lb check</c> re-executes itself with the runtime's default call-counting delay (issue 20, CheckRuntime): what it
/// executes, and that a check run that way answers exactly as one that runs in the first process.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class CheckRuntimeTests
{
    private string _directory = null!;

    [SetUp]
    public void SetUp() => _directory = Directory.CreateTempSubdirectory("lb-check-runtime-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_directory, recursive: true);

    [Test]
    public void Plan_Apphost_SameArguments_DefaultDelayAddedToTheEnvironment()
    {
        var plan = CheckRuntime.Plan(["check", "--config", "/etc/lb.toml"], "/usr/bin/lb", "/usr/lib/lb/lb.dll", new Hashtable { ["HOME"] = "/root" });

        Assert.That(plan, Is.Not.Null);
        Assert.That(plan!.Value.Argv, Is.EqualTo(new[] { "/usr/bin/lb", "check", "--config", "/etc/lb.toml" }));
        Assert.That(plan.Value.Environment, Is.EquivalentTo(new[] { "HOME=/root", CheckRuntime.Variable + "=100" }));
    }

    [Test]
    public void Plan_Muxer_RunsTheDllAgain()
    {
        var plan = CheckRuntime.Plan(["check"], "/usr/share/dotnet/dotnet", "/opt/lb/lb.dll", new Hashtable());

        Assert.That(plan!.Value.Argv, Is.EqualTo(new[] { "/usr/share/dotnet/dotnet", "/opt/lb/lb.dll", "check" }));
    }

    [Test]
    public void Plan_NotACheck_OrTheDelayAlreadySet_RunsHere()
    {
        Assert.That(CheckRuntime.Plan([], "/usr/bin/lb", "lb.dll", new Hashtable()), Is.Null);
        Assert.That(CheckRuntime.Plan(["--config", "lb.toml"], "/usr/bin/lb", "lb.dll", new Hashtable()), Is.Null);
        Assert.That(CheckRuntime.Plan(["tls", "check"], "/usr/bin/lb", "lb.dll", new Hashtable()), Is.Null);
        // Set by the operator, or by the re-executed check itself: never a second exec.
        Assert.That(CheckRuntime.Plan(["check"], "/usr/bin/lb", "lb.dll", new Hashtable { [CheckRuntime.Variable] = "0" }), Is.Null);
    }

    [TestCase(true)]
    [TestCase(false)]
    [CancelAfter(60_000)]
    public async Task Check_ReexecutedOrNot_SameLinesAndExitCode(bool valid, CancellationToken cancellationToken)
    {
        var path = Path.Combine(_directory, "lb.toml");
        var tenant = valid ? "pool = \"p\"" : "pool = \"missing\"";
        await File.WriteAllTextAsync(path, $$"""
            [[listeners]]
            name = "web"
            listen = "127.0.0.1:0"

            [[tenants]]
            name = "acme"
            match = ["acme.test"]
            {{tenant}}

            [[pools]]
            name = "p"
            backends = [{ address = "127.0.0.1:9" }]
            """, cancellationToken);

        var reexecuted = await LbProcess.RunToExitAsync(new Dictionary<string, string?> { [CheckRuntime.Variable] = null }, cancellationToken, "check", "--config", path);
        var inPlace = await LbProcess.RunToExitAsync(new Dictionary<string, string?> { [CheckRuntime.Variable] = "100" }, cancellationToken, "check", "--config", path);

        Assert.That(reexecuted.ExitCode, Is.EqualTo(valid ? 0 : 1));
        Assert.That(reexecuted.Lines, Is.Not.Empty);
        Assert.That(reexecuted.Lines, Is.EqualTo(inPlace.Lines));
        Assert.That(reexecuted.ExitCode, Is.EqualTo(inPlace.ExitCode));
    }
}
