using LoadBalancer.Tests.TestSupport;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary><c>lb check</c> on TLS settings, through the real executable: errors with positions, warnings without failing.</summary>
[TestFixture]
[Category("EndToEnd")]
public sealed class TlsCheckCommandTests : TlsFixture
{
    private async Task<string> WriteAsync(string entry, CancellationToken cancellationToken)
    {
        await File.WriteAllTextAsync(ConfigPath, TlsTerminationTests.Config("127.0.0.1:9", entry), cancellationToken);
        return ConfigPath;
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Check_CertificateExpiringSoon_WarnsAndPasses(CancellationToken cancellationToken)
    {
        var path = await WriteAsync(TlsTerminationTests.Entry(Certs.Issue("soon", ["a.test"], notAfter: DateTimeOffset.UtcNow.AddDays(3).AddHours(1))), cancellationToken);

        var (exitCode, lines) = await LbProcess.RunToExitAsync(cancellationToken, "check", "--config", path);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(exitCode, Is.Zero, string.Join("\n", lines));
            Assert.That(lines, Has.Some.StartsWith($"{path}:4:35: warning: listeners[0].tls.certificates[0].cert: \"soon.pem\" expires on").And.EndsWith("(in 3 days)"));
            Assert.That(lines, Has.Some.StartsWith($"{path}: OK: 1 listener"));
            Assert.That(lines, Has.Some.Contains("warning: tenants[0].match[1]: no certificate of listener \"web\" covers \"x.b.test\""));
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Check_KeyOfAnotherCertificate_ErrorWithPositionAndFileError(CancellationToken cancellationToken)
    {
        var (cert, _, _) = Certs.Issue("a", ["a.test"]);
        var (_, otherKey, _) = Certs.Issue("b", ["b.test"]);
        var path = await WriteAsync($"{{ cert = \"{cert}\", key = \"{otherKey}\" }}", cancellationToken);

        var (exitCode, lines) = await LbProcess.RunToExitAsync(cancellationToken, "check", "--config", path);

        Assert.That(exitCode, Is.EqualTo(1));
        Assert.That(lines, Is.EqualTo(new[] { $"{path}:4:50: listeners[0].tls.certificates[0].key: \"b.key\": b.key: key does not match certificate a.pem" }));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Check_MatchHostNoCertificateCovers_WarnsWithItsPositionAndPasses_AWildcardCoveringItSilencesIt(CancellationToken cancellationToken)
    {
        // Valid for a year: the uncovered host is the only thing lb check has to say.
        var path = await WriteAsync(TlsTerminationTests.Entry(Certs.Issue("a", ["a.test"])), cancellationToken);
        var (exitCode, lines) = await LbProcess.RunToExitAsync(cancellationToken, "check", "--config", path);

        var wildcardPath = await WriteAsync(TlsTerminationTests.Entry(Certs.Issue("ab", ["a.test", "*.b.test"])), cancellationToken);
        var (wildcardExitCode, wildcardLines) = await LbProcess.RunToExitAsync(cancellationToken, "check", "--config", wildcardPath);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(exitCode, Is.Zero, string.Join("\n", lines));
            Assert.That(lines.Where(l => l.Contains("warning", StringComparison.Ordinal)), Is.EqualTo(new[]
            {
                $"{path}:9:20: warning: tenants[0].match[1]: no certificate of listener \"web\" covers \"x.b.test\"",
            }));
            Assert.That(lines, Has.Some.StartsWith($"{path}: OK: 1 listener"));
            Assert.That(wildcardExitCode, Is.Zero, string.Join("\n", wildcardLines));
            Assert.That(wildcardLines.Where(l => l.Contains("warning", StringComparison.Ordinal)), Is.Empty);
        }
    }
}
